"""The account's complete access inventory, read with paginated bulk lists only.

Every list is read in pages of 100, the independent lists concurrently; nothing is read one user
at a time, so an account of 5,000 users and 20,000 bindings costs a few hundred requests. What
Arize's admin API cannot reveal is said in ``Inventory.limits``:

- organization memberships cannot be listed: they are inferred from space role bindings (a
  member of an organization with no space binding in it is invisible);
- user API keys can only be listed one user at a time: only the account admins' are read;
- service keys are listed per space (the documented filter), each once however many spaces;
- a key's last refresh is not a field: it comes from the audit log (refreshApiKey), within
  ``refresh_lookback_days`` and only where audit logging is on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel, Field

from arize_admin import (
    ApiKeyType,
    ArizeError,
    AsyncArizeAdmin,
    PermissionDeniedError,
    ResourceRestrictionType,
    RoleBindingResourceType,
    UserStatus,
)

PAGE = 100
T = TypeVar("T")


class UserRecord(BaseModel):
    """A person with an Arize login (bots of service keys are not listed by the API)."""

    id: str
    email: str
    name: str
    status: str
    account_role: str
    is_developer: bool
    created_at: datetime
    invitation_age_days: int | None = Field(
        default=None, description="Days since invited, for invitations never accepted."
    )


class SpaceRecord(BaseModel):
    """A space, its organization, and who administers it (SPACE bindings with role ADMIN)."""

    id: str
    name: str
    organization_id: str | None
    organization: str
    admins: list[str] = Field(default_factory=list, description="User ids of the space admins.")


class ProjectRecord(BaseModel):
    """A project and whether it is restricted."""

    id: str
    name: str
    space_id: str
    restricted: bool = False


class BindingRecord(BaseModel):
    """One role binding, as listed, with its role's name when the role still exists."""

    id: str
    resource_type: str
    resource_id: str
    user_id: str
    role_id: str
    role: str | None = Field(description="None: the role no longer exists.")
    predefined: bool = False


class KeyRecord(BaseModel):
    """An API key's metadata (never a value): who made it, where it works, how old it is."""

    id: str
    name: str
    key_type: str
    redacted_key: str
    created_at: datetime
    created_by_user_id: str | None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    last_refreshed_at: datetime | None = None
    bot_user_id: str | None = None
    space_ids: list[str] = Field(default_factory=list)


class Inventory(BaseModel):
    """Everything the admin API reveals about who can do what in the account."""

    taken_at: datetime
    users: list[UserRecord]
    spaces: list[SpaceRecord]
    projects: list[ProjectRecord]
    organizations: dict[str, str] = Field(description="Organization id → name.")
    bindings: list[BindingRecord]
    service_keys: list[KeyRecord]
    admin_user_keys: list[KeyRecord]
    limits: list[str]
    api_calls: int = 0

    def user(self, user_id: str) -> UserRecord | None:
        """The listed user with ``user_id``, or None (deleted, or a service key's bot)."""
        return self._users().get(user_id)

    def _users(self) -> dict[str, UserRecord]:
        cached = self.__dict__.get("_by_id")
        if cached is None:
            cached = {u.id: u for u in self.users}
            self.__dict__["_by_id"] = cached
        return cached


async def _all(pages: AsyncIterable[T]) -> list[T]:
    return [item async for item in pages]


def _role_name(role: object) -> str:
    return str(getattr(role, "name", None) or getattr(role, "id", None) or role)


async def take_inventory(
    client: AsyncArizeAdmin, *, refresh_lookback_days: int = 90, now: datetime | None = None
) -> Inventory:
    """Read the whole account: users, spaces, projects, roles, bindings, restrictions, keys.

    Args:
        client: An admin client (account admin credentials see everything).
        refresh_lookback_days: How far back the audit log is searched for key refreshes.
        now: The review's clock (tests pin it).

    Returns:
        The inventory; ``limits`` says what the API could not show.
    """
    now = now or datetime.now(UTC)
    start = client.request_count
    limits = [
        "organization memberships cannot be listed through the admin API: organizations are "
        "inferred from space role bindings; someone in an organization without any space "
        "binding there does not show",
        "user API keys can only be listed one user at a time: only the account admins' keys "
        "are inventoried",
    ]
    (
        users,
        orgs,
        spaces,
        projects,
        roles,
        space_bindings,
        project_bindings,
        restrictions,
    ) = await asyncio.gather(
        _all(client.users.list(limit=PAGE)),
        _all(client.organizations.list(limit=PAGE)),
        _all(client.spaces.list(limit=PAGE)),
        _all(client.projects.list(limit=PAGE)),
        _all(client.roles.list(limit=PAGE)),
        _all(client.role_bindings.list(resource_type=RoleBindingResourceType.SPACE, limit=PAGE)),
        _all(client.role_bindings.list(resource_type=RoleBindingResourceType.PROJECT, limit=PAGE)),
        _all(
            client.resource_restrictions.list(
                resource_type=ResourceRestrictionType.PROJECT, limit=PAGE
            )
        ),
    )
    role_by_id = {r.id: r for r in roles}
    org_names = {o.id: o.name for o in orgs}
    user_records = [
        UserRecord(
            id=u.id,
            email=u.email.lower(),
            name=u.name,
            status=str(u.status.value if isinstance(u.status, UserStatus) else u.status),
            account_role=_role_name(u.role),
            is_developer=u.is_developer,
            created_at=u.created_at,
            invitation_age_days=(now - u.created_at).days
            if u.status in (UserStatus.INVITED, UserStatus.EXPIRED)
            else None,
        )
        for u in users
    ]
    bindings = [
        BindingRecord(
            id=b.id,
            resource_type=str(b.resource_type.value),
            resource_id=b.resource_id,
            user_id=b.user_id,
            role_id=b.role_id,
            role=role_by_id[b.role_id].name if b.role_id in role_by_id else None,
            predefined=bool(b.role_id in role_by_id and role_by_id[b.role_id].is_predefined),
        )
        for b in [*space_bindings, *project_bindings]
    ]
    admins: dict[str, list[str]] = {}
    for b in bindings:
        if b.resource_type == "SPACE" and b.predefined and b.role == "ADMIN":
            admins.setdefault(b.resource_id, []).append(b.user_id)
    restricted = {r.resource_id for r in restrictions}
    space_records = [
        SpaceRecord(
            id=s.id,
            name=s.name,
            organization_id=s.organization_id,
            organization=org_names.get(s.organization_id or "", "?"),
            admins=sorted(admins.get(s.id, [])),
        )
        for s in spaces
    ]
    project_records = [
        ProjectRecord(id=p.id, name=p.name, space_id=p.space_id, restricted=p.id in restricted)
        for p in projects
    ]

    account_admins = [u for u in user_records if u.account_role == "ADMIN"]
    per_space, admin_keys, refreshes = await asyncio.gather(
        asyncio.gather(
            *(
                _all(client.api_keys.list(key_type=ApiKeyType.SERVICE, space_id=s.id, limit=PAGE))
                for s in spaces
            )
        ),
        asyncio.gather(
            *(
                _all(client.api_keys.list(key_type=ApiKeyType.USER, user_id=u.id, limit=PAGE))
                for u in account_admins
            )
        ),
        _refreshes(client, now - timedelta(days=refresh_lookback_days), now, limits),
    )
    service_keys: dict[str, KeyRecord] = {}
    for space, keys in zip(spaces, per_space, strict=True):
        for k in keys:
            record = service_keys.get(k.id)
            if record is None:
                record = service_keys[k.id] = _key_record(k, refreshes)
            record.space_ids.append(space.id)
    limits.append(
        f"key refreshes come from the audit log of the last {refresh_lookback_days} days; an "
        "older refresh shows as none"
    )
    return Inventory(
        taken_at=now,
        users=user_records,
        spaces=space_records,
        projects=project_records,
        organizations=org_names,
        bindings=bindings,
        service_keys=list(service_keys.values()),
        admin_user_keys=[_key_record(k, refreshes) for keys in admin_keys for k in keys],
        limits=limits,
        api_calls=client.request_count - start,
    )


def _key_record(key: object, refreshes: dict[str, datetime]) -> KeyRecord:
    bot = getattr(key, "bot_user", None)
    return KeyRecord(
        id=key.id,  # type: ignore[attr-defined]
        name=key.name,  # type: ignore[attr-defined]
        key_type=key.key_type,  # type: ignore[attr-defined]
        redacted_key=key.redacted_key,  # type: ignore[attr-defined]
        created_at=key.created_at,  # type: ignore[attr-defined]
        created_by_user_id=key.created_by_user_id,  # type: ignore[attr-defined]
        expires_at=key.expires_at,  # type: ignore[attr-defined]
        last_used_at=key.last_used_at,  # type: ignore[attr-defined]
        last_refreshed_at=refreshes.get(key.id),  # type: ignore[attr-defined]
        bot_user_id=bot.id if bot is not None else None,
    )


async def _refreshes(
    client: AsyncArizeAdmin, since: datetime, until: datetime, limits: list[str]
) -> dict[str, datetime]:
    """Key id → time of its latest refresh, from the audit log (newest entries first)."""
    latest: dict[str, datetime] = {}
    try:
        async for entry in client.audit_logs.list(
            start_time=since, end_time=until, operation_names=["refreshApiKey"], limit=PAGE
        ):
            key_id = _key_id(entry.variables)
            if key_id and key_id not in latest:
                latest[key_id] = entry.created_at
    except PermissionDeniedError:
        limits.append("the audit log is off or not readable: key refresh times are unknown")
    except ArizeError as ex:
        limits.append(f"the audit log could not be read ({ex}): key refresh times are unknown")
    return latest


def _key_id(variables: str | None) -> str | None:
    try:
        data = json.loads(variables or "")
    except ValueError:
        return None
    value = data.get("api_key_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None
