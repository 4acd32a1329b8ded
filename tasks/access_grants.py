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
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.actions import VariableCreate, VariableUpdate
from prefect.client.schemas.objects import Variable
from prefect.exceptions import ObjectAlreadyExists
from pydantic import BaseModel, Field

GRANT_PREFIX = "access_grant_"
END_SUFFIX = "_end"
TAG = "arize-access-grant"
MAX_EXTENSIONS_KEPT = 5
_PAGE = 200


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
        return self.status is not GrantStatus.ENDED and (now or datetime.now(UTC)) >= (
            self.expires_at
        )

    def describe(self) -> str:
        """One line: who, what, where, until when."""
        until = self.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{self.role} for {self.email} on {self.resource} until {until}"


class GrantEnded(RuntimeError):
    """The grant has already ended (expired or revoked): it cannot be extended."""


def grant_variable(grant_id: str) -> str:
    """The Variable holding grant ``grant_id``."""
    return f"{GRANT_PREFIX}{grant_id}"


def end_variable(grant_id: str) -> str:
    """The Variable recording how grant ``grant_id`` ended."""
    return f"{GRANT_PREFIX}{grant_id}{END_SUFFIX}"


def _grant_value(grant: AccessGrant) -> dict:
    return grant.model_dump(mode="json", exclude={"end"})


async def read_grant(client: PrefectClient, grant_id: str) -> AccessGrant | None:
    """The grant with its end marker, or ``None`` if no grant has this id."""
    variable = await client.read_variable_by_name(grant_variable(grant_id))
    if variable is None:
        return None
    grant = AccessGrant.model_validate(variable.value)
    end = await client.read_variable_by_name(end_variable(grant_id))
    if end is not None:
        grant.end = GrantEnd.model_validate(end.value)
    return grant


async def save_grant(client: PrefectClient, grant: AccessGrant) -> None:
    """Create or replace the grant's record (never its end marker)."""
    name = grant_variable(grant.id)
    try:
        await client.create_variable(
            VariableCreate(name=name, value=_grant_value(grant), tags=[TAG])
        )
    except ObjectAlreadyExists:
        await client.update_variable(VariableUpdate(name=name, value=_grant_value(grant)))


async def list_grants(client: PrefectClient) -> list[AccessGrant]:
    """Every recorded grant, with its end marker, oldest expiry first."""
    records: dict[str, object] = {}
    offset = 0
    while True:
        # The grants' own tag, page by page: other Variables never load, and old grants (kept
        # as the audit trail) never push live ones past a page limit.
        response = await client.request(
            "POST",
            "/variables/filter",
            json={"variables": {"tags": {"all_": [TAG]}}, "offset": offset, "limit": _PAGE,
                  "sort": "NAME_ASC"},
        )
        page = Variable.model_validate_list(response.json())
        records.update({v.name: v.value for v in page})
        if len(page) < _PAGE:
            break
        offset += _PAGE
    grants: list[AccessGrant] = []
    for name, value in records.items():
        if name.endswith(END_SUFFIX):
            continue
        grant = AccessGrant.model_validate(value)
        end = records.get(end_variable(grant.id))
        if end is not None:
            grant.end = GrantEnd.model_validate(end)
        grants.append(grant)
    return sorted(grants, key=lambda g: g.expires_at)


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
    grant = await read_grant(client, grant_id)
    if grant is None:
        raise LookupError(f"no access grant {grant_id!r}; see `arize-runbooks access list`")
    if grant.end is not None:
        raise GrantEnded(f"grant {grant_id} already ended ({grant.end.reason}); request anew")
    grant.expires_at = expires_at
    grant.extensions = [*grant.extensions, note][-MAX_EXTENSIONS_KEPT:]
    await save_grant(client, grant)
    # An end marker written between our read and our write wins: the grant stays ended, and the
    # caller hears so instead of believing it extended.
    after = await read_grant(client, grant_id)
    if after is None or after.end is not None:
        reason = after.end.reason if after and after.end else "deleted"
        raise GrantEnded(f"grant {grant_id} ended while it was being extended ({reason})")
    return after
