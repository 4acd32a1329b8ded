"""offboard-user's access snapshot across reruns: a run cut off halfway took part of the access
already, so the rerun adds to the snapshot still owed instead of replacing it; once restored,
the next offboarding starts a new one."""

from __future__ import annotations

from datetime import UTC, datetime

from flows.offboard_user import snapshot_store
from flows.offboard_user.snapshot import AccessSnapshot, Grant
from flows.offboard_user.snapshot_store import load_snapshot

# The tasks' own logic (``.fn``): these tests are about what is kept, not about task runs.
save_snapshot = snapshot_store.save_snapshot.fn
mark_restored = snapshot_store.mark_restored.fn
EMAIL = "rerun.leaver@acme.example"


def _grant(space: str, role: str = "MEMBER") -> Grant:
    return Grant(resource_type="SPACE", resource_id=space, resource=space, role_id=role, role=role)


def _snapshot(
    *grants: Grant, groups: list[str] | None = None, email: str = EMAIL
) -> AccessSnapshot:
    return AccessSnapshot(email=email, user_id="U1", name="Rerun", account_role="MEMBER",
                          taken_at=datetime.now(UTC), idp_groups=groups or [],
                          grants=list(grants))  # fmt: skip


async def test_a_rerun_after_a_partial_offboarding_keeps_what_the_first_run_took(prefect_harness):
    first = _snapshot(_grant("S1"), _grant("S2"), _grant("S3"), groups=["arize-editors"])
    assert await save_snapshot(first)

    # Cut off after S1 and S2 were unbound: the rerun's inventory has S3 alone, then nothing.
    assert await save_snapshot(_snapshot(_grant("S3"))) is False
    assert await save_snapshot(_snapshot()) is False
    kept = await load_snapshot(EMAIL)
    assert kept == first

    # Granted by hand meanwhile and taken by a second offboarding: owed as well.
    assert await save_snapshot(_snapshot(_grant("S9", "ADMIN")))
    kept = await load_snapshot(EMAIL)
    assert kept is not None
    assert [g.resource_id for g in kept.grants] == ["S1", "S2", "S3", "S9"]
    assert kept.taken_at == first.taken_at and kept.idp_groups == ["arize-editors"]


async def test_after_a_restore_the_next_offboarding_starts_a_new_snapshot(prefect_harness):
    email = "back.again@acme.example"
    await save_snapshot(_snapshot(_grant("S1"), _grant("S2"), email=email))
    await mark_restored(email)

    assert await save_snapshot(_snapshot(_grant("S7"), email=email))
    kept = await load_snapshot(email)
    assert kept is not None and [g.resource_id for g in kept.grants] == ["S7"]
    assert kept.restored_at is None
