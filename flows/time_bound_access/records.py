"""The durable record of temporary access grants, kept as Prefect Variables.

Each grant is one Variable ``access_grant_<id>`` (JSON, well under Prefect's 5,000-character
limit) in the Prefect server's own database, so it outlives restarts of the server, of workers
and of the webhook service, and every one of them reads the same record. How a grant ends is a
second Variable, ``access_grant_<id>_end``, created once: Prefect refuses a second Variable of
the same name, so that creation is an atomic "first ender wins" and no later write (an
extension racing an early revoke) can bring an ended grant back to life. A grant is:

- pending: recorded (with its expiry) before its binding is created, so a run that dies right
  after granting still leaves a record the sweeper will revoke;
- active: the binding it created or elevated is known;
- ended: its end marker exists (``done`` once the access is actually removed).

Changes are compare-and-set. Prefect updates a Variable unconditionally (no version, no
precondition; tags are plain labels), so a read-modify-write of one Variable loses whichever
write lands first (``access keep`` racing the grant run's final save). The only atomic step the
server offers is "create a Variable of a name nobody has taken", so each change is a new
revision Variable, ``access_grant_<id>_r<version>``: a writer reads the newest version *n* and
creates *n + 1*; if another writer took *n + 1* first, it reads again and re-applies its change.
Revision 1 is ``access_grant_<id>`` itself. Revisions are few (recorded, granted, perhaps kept
or extended) and are the grant's audit trail; a reader takes the highest version.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.actions import VariableCreate, VariableUpdate
from prefect.client.schemas.objects import Variable
from prefect.exceptions import ObjectAlreadyExists
from pydantic import BaseModel, Field

GRANT_PREFIX = "access_grant_"
END_SUFFIX = "_end"
REVISION_INFIX = "_r"
TAG = "arize-access-grant"
MAX_EXTENSIONS_KEPT = 5
MAX_WRITE_ATTEMPTS = 20
_PAGE = 200
_NAME = re.compile(rf"^{GRANT_PREFIX}(?P<id>[a-z0-9]{{6,32}})(?:(?P<end>{END_SUFFIX})|"
                   rf"{REVISION_INFIX}(?P<version>[0-9]+))?$")


class GrantClock:
    """The time grant expiries are measured by: the wall clock, plus an offset tests set.

    Only expiry decisions read it (when a grant expires, whether it is due); times compared
    with Arize's own timestamps (``recorded_at``) stay on the wall clock.
    """

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        """Now, as expiries see it."""
        return datetime.now(UTC) + self.offset


clock = GrantClock()


class GrantStatus(StrEnum):
    """Where a grant is in its life."""

    PENDING = "pending"
    ACTIVE = "active"
    ENDING = "ending"
    ENDED = "ended"


class GrantEnd(BaseModel):
    """How and when a grant ended; written once by whoever ended it first."""

    at: datetime
    by: str = Field(description="Who or what ended it: the revoke run, the sweeper, a person.")
    reason: str = Field(description="expired, or revoked early (and by whom).")
    done: bool = Field(default=False, description="True once the access is removed or kept.")
    outcome: str = Field(default="", description="What the revoke did, in words.")


class AccessGrant(BaseModel):
    """One temporary grant: who got which role where, until when, and what was there before."""

    id: str = Field(pattern=r"^[a-z0-9]{6,32}$")
    version: int = Field(
        default=1, ge=1, description="The record's revision: each change writes the next one."
    )
    email: str
    user_id: str
    role: str = Field(description="Role name, as requested.")
    role_id: str
    resource_type: str = Field(description="SPACE or PROJECT.")
    resource_id: str
    resource: str = Field(description="The space or space/project, in words.")
    previous_role_id: str | None = Field(
        default=None,
        description="The role the person already had on the resource (restored at revoke); "
        "none when they had no binding there (the binding is deleted at revoke).",
    )
    binding_id: str | None = Field(
        default=None, description="The binding the grant created or elevated; none while pending."
    )
    recorded_at: datetime
    granted_at: datetime | None = None
    expires_at: datetime
    reason: str = ""
    ticket: str | None = None
    requested_by: str | None = None
    requester_slack_id: str | None = None
    approved_by: str | None = None
    run_id: str | None = None
    standing: bool = Field(
        default=False,
        description="Made standing by an admin during the window: the revoke leaves it.",
    )
    extensions: list[str] = Field(
        default_factory=list, description="The latest extensions, in words (newest last)."
    )
    end: GrantEnd | None = Field(default=None, description="Filled from the end marker on read.")

    @property
    def status(self) -> GrantStatus:
        """Pending, active, ending (marker written, access not yet removed) or ended."""
        if self.end is not None:
            return GrantStatus.ENDED if self.end.done else GrantStatus.ENDING
        return GrantStatus.ACTIVE if self.binding_id else GrantStatus.PENDING

    def is_due(self, now: datetime | None = None) -> bool:
        """True when the grant has expired and its access may still be present."""
        return self.status is not GrantStatus.ENDED and (now or clock.now()) >= (
            self.expires_at
        )

    def describe(self) -> str:
        """One line: who, what, where, until when."""
        until = self.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{self.role} for {self.email} on {self.resource} until {until}"


class GrantEnded(RuntimeError):
    """The grant has already ended (expired or revoked): it cannot be extended."""


class GrantWriteConflict(RuntimeError):
    """Other writers kept changing the grant; the change was not written."""


def grant_variable(grant_id: str, version: int = 1) -> str:
    """The Variable holding revision ``version`` of grant ``grant_id``."""
    suffix = "" if version == 1 else f"{REVISION_INFIX}{version}"
    return f"{GRANT_PREFIX}{grant_id}{suffix}"


def end_variable(grant_id: str) -> str:
    """The Variable recording how grant ``grant_id`` ended."""
    return f"{GRANT_PREFIX}{grant_id}{END_SUFFIX}"


def _grant_value(grant: AccessGrant) -> dict:
    return grant.model_dump(mode="json", exclude={"end"})


async def _tagged(client: PrefectClient, name_like: str | None = None) -> dict[str, object]:
    """The grants' Variables (only those whose name contains ``name_like``), page by page."""
    records: dict[str, object] = {}
    offset = 0
    criteria: dict[str, object] = {"tags": {"all_": [TAG]}}
    if name_like is not None:
        criteria["name"] = {"like_": name_like}
    while True:
        # The grants' own tag, page by page: other Variables never load, and old grants (kept
        # as the audit trail) never push live ones past a page limit.
        response = await client.request(
            "POST",
            "/variables/filter",
            json={"variables": criteria, "offset": offset, "limit": _PAGE, "sort": "NAME_ASC"},
        )
        page = Variable.model_validate_list(response.json())
        records.update({v.name: v.value for v in page})
        if len(page) < _PAGE:
            return records


def _grants(records: dict[str, object]) -> dict[str, AccessGrant]:
    """The newest revision of each grant in ``records``, with its end marker."""
    newest: dict[str, tuple[int, object]] = {}
    ends: dict[str, object] = {}
    for name, value in records.items():
        match = _NAME.match(name)
        if match is None:
            continue
        if match["end"]:
            ends[match["id"]] = value
            continue
        version = int(match["version"] or 1)
        if version > newest.get(match["id"], (0, None))[0]:
            newest[match["id"]] = (version, value)
    grants: dict[str, AccessGrant] = {}
    for grant_id, (version, value) in newest.items():
        grant = AccessGrant.model_validate(value)
        grant.version = version  # the name is the truth; a record written before versions says 1
        if grant_id in ends:
            grant.end = GrantEnd.model_validate(ends[grant_id])
        grants[grant_id] = grant
    return grants


async def read_grant(client: PrefectClient, grant_id: str) -> AccessGrant | None:
    """The grant's newest revision with its end marker, or ``None`` if no grant has this id."""
    # ``like_`` is a substring match (``_`` a wildcard): _grants keeps exact names only.
    return _grants(await _tagged(client, f"{GRANT_PREFIX}{grant_id}")).get(grant_id)


async def create_grant(client: PrefectClient, grant: AccessGrant) -> AccessGrant:
    """Record a new grant (revision 1); if it is recorded already, the record that stands."""
    try:
        await client.create_variable(
            VariableCreate(name=grant_variable(grant.id), value=_grant_value(grant), tags=[TAG])
        )
    except ObjectAlreadyExists:
        existing = await read_grant(client, grant.id)
        assert existing is not None  # revision 1 is never deleted
        return existing
    return grant.model_copy(update={"version": 1})


async def before_revision_write(current: AccessGrant, proposed: AccessGrant) -> None:
    """Called between the read and the write of every change: where tests inject a rival."""


async def update_grant(
    client: PrefectClient,
    grant_id: str,
    change: Callable[[AccessGrant], AccessGrant | None],
) -> AccessGrant:
    """Apply ``change`` to the newest revision and write it as the next one (compare-and-set).

    ``change`` gets a copy of the grant as it stands (end marker included) and returns the
    changed grant, or ``None`` to write nothing; it may raise to refuse. When another writer
    took the next revision first, the grant is read again and ``change`` applied to that.

    Returns:
        The grant as written (or as it stands, when ``change`` returned ``None``).

    Raises:
        LookupError: no grant has this id.
        GrantWriteConflict: the grant changed under every one of the attempts.
    """
    for _ in range(MAX_WRITE_ATTEMPTS):
        current = await read_grant(client, grant_id)
        if current is None:
            raise LookupError(f"no access grant {grant_id!r}; see `arize-runbooks access list`")
        proposed = change(current.model_copy(deep=True))
        if proposed is None:
            return current
        proposed.version = current.version + 1
        await before_revision_write(current, proposed)
        try:
            await client.create_variable(
                VariableCreate(name=grant_variable(grant_id, proposed.version),
                               value=_grant_value(proposed), tags=[TAG])
            )
        except ObjectAlreadyExists:
            continue  # someone else wrote this version: read theirs, apply ours on top
        return proposed
    raise GrantWriteConflict(
        f"grant {grant_id} changed under each of {MAX_WRITE_ATTEMPTS} attempts to write it; "
        "try again"
    )


async def list_grants(client: PrefectClient) -> list[AccessGrant]:
    """Every recorded grant (its newest revision), with its end marker, oldest expiry first."""
    return sorted(_grants(await _tagged(client)).values(), key=lambda g: g.expires_at)


async def find_open_grant(
    client: PrefectClient, *, user_id: str, role_id: str, resource_id: str
) -> AccessGrant | None:
    """The pending or active grant of this role to this user on this resource, if any."""
    for grant in await list_grants(client):
        if (
            grant.status in (GrantStatus.PENDING, GrantStatus.ACTIVE)
            and (grant.user_id, grant.role_id, grant.resource_id)
            == (user_id, role_id, resource_id)
        ):
            return grant
    return None


async def claim_end(client: PrefectClient, grant_id: str, end: GrantEnd) -> GrantEnd:
    """Write the grant's end marker unless one exists; return the marker that stands.

    The first writer wins; a later caller gets the existing marker back and finishes the same
    removal (which is idempotent), so a revoke cut off half-way is completed by the next one.
    """
    try:
        await client.create_variable(
            VariableCreate(name=end_variable(grant_id), value=end.model_dump(mode="json"),
                           tags=[TAG])
        )
        return end
    except ObjectAlreadyExists:
        existing = await client.read_variable_by_name(end_variable(grant_id))
        assert existing is not None  # created by someone else a moment ago; never deleted
        return GrantEnd.model_validate(existing.value)


async def finish_end(client: PrefectClient, grant_id: str, end: GrantEnd) -> None:
    """Mark the end done, with what the revoke did."""
    await client.update_variable(
        VariableUpdate(name=end_variable(grant_id), value=end.model_dump(mode="json"))
    )


async def extend_grant(
    client: PrefectClient, grant_id: str, expires_at: datetime, note: str
) -> AccessGrant:
    """Move an open grant's expiry to ``expires_at``.

    Raises:
        LookupError: no grant has this id.
        GrantEnded: the grant ended before (or while) it was extended; nothing is extended.
    """
    def extend(grant: AccessGrant) -> AccessGrant:
        if grant.end is not None:
            raise GrantEnded(f"grant {grant_id} already ended ({grant.end.reason}); request anew")
        grant.expires_at = expires_at
        grant.extensions = [*grant.extensions, note][-MAX_EXTENSIONS_KEPT:]
        return grant

    await update_grant(client, grant_id, extend)
    # An end marker written between our read and our write wins: the grant stays ended, and the
    # caller hears so instead of believing it extended.
    after = await read_grant(client, grant_id)
    if after is None or after.end is not None:
        reason = after.end.reason if after and after.end else "deleted"
        raise GrantEnded(f"grant {grant_id} ended while it was being extended ({reason})")
    return after
