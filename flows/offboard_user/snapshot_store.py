"""Where access snapshots are kept: saved by offboard-user before it applies anything, read by
restore-user, where any worker can read them without database credentials.

A Prefect ``Secret`` block (a block document has no size limit, unlike a Variable's 5,000
characters; the value is not secret, but Secret is the block Prefect ships for a JSON value)
named ``access-snapshot-<sha256 of the e-mail>``, so no e-mail appears in the name.

A rerun of an offboarding (cut off halfway, or a second event for the same leaver) adds to the
snapshot not yet restored instead of replacing it; once restored, the next offboarding starts a
new one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import task
from prefect.blocks.system import Secret

from flows.offboard_user.snapshot import AccessSnapshot, snapshot_name


async def load_snapshot(email: str) -> AccessSnapshot | None:
    """The saved snapshot of ``email``, or None."""
    try:
        block = await Secret.aload(snapshot_name(email))
    except ValueError:  # no such block
        return None
    return AccessSnapshot.model_validate(block.get())


async def _store(snapshot: AccessSnapshot) -> None:
    value = snapshot.model_dump(mode="json")
    await Secret(value=value).asave(snapshot_name(snapshot.email), overwrite=True)


@task(name="Save access snapshot", task_run_name="snapshot access")
async def save_snapshot(snapshot: AccessSnapshot) -> bool:
    """Keep ``snapshot``; while the one kept is not yet restored, add to it, never replace it.

    A rerun of an offboarding that was cut off halfway finds part of the access gone already
    (or all of it): what the first run took is still owed on a return, so until restore-user
    gives it back the snapshot only grows, and keeps when and with which groups they left.

    Returns:
        Whether anything was written.
    """
    kept = await load_snapshot(snapshot.email)
    if kept is not None and kept.restored_at is None:
        now = {(g.resource_type, g.resource_id) for g in snapshot.grants}
        earlier = [g for g in kept.grants if (g.resource_type, g.resource_id) not in now]
        snapshot = kept.model_copy(update={"grants": [*earlier, *snapshot.grants]})
        if snapshot == kept:
            return False
    await _store(snapshot)
    return True


@task(name="Mark access snapshot restored", task_run_name="snapshot restored")
async def mark_restored(email: str) -> None:
    """Record that the snapshot was given back (a later empty offboarding may replace it)."""
    snapshot = await load_snapshot(email)
    if snapshot is not None:
        await _store(snapshot.model_copy(update={"restored_at": datetime.now(UTC)}))
