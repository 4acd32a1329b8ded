"""The emulated account's store: its tables, lock, ids and audit log, shared by every resource.

This is the floor under the per-resource parts (moto splits a backend the same way): each
module of :mod:`emulator.arize.resources` adds one resource's operations and cascades to the
store as a mixin, :mod:`emulator.arize.authorization` adds who may call, and
:mod:`emulator.arize.state` assembles them into ``AccountState``. Here live only what every
part shares: the tables (each a :class:`~emulator.arize.tables.Table`), the one re-entrant
lock every mutation holds, the global id counters, the audit log written by :func:`mutation`,
the hook that tells persistence the account changed, and lookups of rows by id and by owner.

Errors are the typed exceptions of :mod:`emulator.arize.errors`; nothing here knows HTTP.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from emulator.arize.errors import (
    NotFound,
)
from emulator.arize.ids import decode_id, encode_id
from emulator.arize.models import (
    ApiKey,
    AuditLog,
    KeySecret,
    Organization,
    OrgMember,
    Project,
    Restriction,
    Role,
    RoleBinding,
    SamlIdentityProvider,
    SamlRoleMapping,
    Space,
    SpaceMember,
    User,
    utcnow,
)
from emulator.arize.pagination import PAGINATION_MODEL, Page, paginate, paginate_table
from emulator.arize.tables import Table

__all__ = [
    "INVITE_TTL",
    "TABLES",
    "Caller",
    "Store",
    "hash_key",
    "mutation",
    "new_raw_key",
    "predefined",
    "redact",
]

F = TypeVar("F", bound=Callable[..., Any])

# Every table of the account and the row type it holds (the attribute names of ``Store``):
# persistence snapshots and restores exactly these, so a new table is declared once, here.
TABLES: dict[str, type] = {
    "users": User,
    "orgs": Organization,
    "org_members": OrgMember,
    "spaces": Space,
    "space_members": SpaceMember,
    "projects": Project,
    "roles": Role,
    "bindings": RoleBinding,
    "restrictions": Restriction,
    "api_keys": ApiKey,
    "secrets": KeySecret,
    "audit_logs": AuditLog,
    "saml_idps": SamlIdentityProvider,
    "saml_mappings": SamlRoleMapping,
}
_T = TypeVar("_T")

# Never copied into an audit entry's variables: secrets, and values that may hold them.
_SECRET_ARGS = frozenset({"key", "raw_key", "password", "temporary_password", "secret"})
INVITE_TTL = timedelta(days=7)


def hash_key(raw: str) -> str:
    """Return the stored form of an API key (hex sha256); raw values are never stored."""
    return hashlib.sha256(raw.encode()).hexdigest()


def new_raw_key() -> str:
    """Return a fresh API key value."""
    return "ak-" + secrets.token_urlsafe(30)


def redact(raw: str) -> str:
    """Return the ``redacted_key`` shown for ``raw`` (``ak-abc...xyz``)."""
    return f"{raw[:6]}...{raw[-3:]}"


def _user_id(row: OrgMember | SpaceMember | RoleBinding) -> str:
    return row.user_id


def predefined(name: str) -> dict[str, Any]:
    """Return a PREDEFINED role assignment."""
    return {"type": "PREDEFINED", "name": name}


@dataclass
class Caller:
    """The authenticated principal of one request.

    Attributes:
        user: The user the key authenticates as (a bot user for service keys).
        key: The API key used.
        ip: The client address, recorded in the audit log.
    """

    user: User
    key: ApiKey
    ip: str = "127.0.0.1"


def mutation(operation_name: str, operation_text: str) -> Callable[[F], F]:
    """Declare a state method as a mutation: audited and persisted when it succeeds.

    Args:
        operation_name: The audit ``operation_name``, e.g. ``"createUser"``.
        operation_text: The REST endpoint, e.g. ``"POST /v2/users"``.
    """

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(self: Store, caller: Caller, *args: Any, **kwargs: Any) -> Any:
            with self.lock:
                result = fn(self, caller, *args, **kwargs)
                bound = signature.bind(self, caller, *args, **kwargs).arguments
                variables = {
                    k: v
                    for k, v in bound.items()
                    if k not in {"self", "caller"} and k not in _SECRET_ARGS and v is not None
                }
                self._audit(caller, operation_name, operation_text, variables)
                self.changed()
                return result

        return wrapper  # type: ignore[return-value]

    return decorate


class Store:
    """The tables and plumbing of one emulated Arize account (each app has its own)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        # Tables drop their cached orders and indexes on every write (see tables.py).
        self.users: Table[User] = Table()
        self.orgs: Table[Organization] = Table()
        self.org_members: Table[OrgMember] = Table()
        self.spaces: Table[Space] = Table()
        self.space_members: Table[SpaceMember] = Table()
        self.projects: Table[Project] = Table()
        self.roles: Table[Role] = Table()
        self.bindings: Table[RoleBinding] = Table()
        self.restrictions: Table[Restriction] = Table()
        self.api_keys: Table[ApiKey] = Table()
        self.secrets: Table[KeySecret] = Table()
        self.audit_logs: Table[AuditLog] = Table()
        self.saml_idps: Table[SamlIdentityProvider] = Table()
        self.saml_mappings: Table[SamlRoleMapping] = Table()
        self.counters: dict[str, int] = {}
        self.max_key_lifetime: timedelta | None = None
        # Enterprise accounts only may manage SAML; the control plane can turn it off.
        self.enterprise = True
        self.on_change: Callable[[Store], None] | None = None

    def changed(self) -> None:
        """Tell the persistence layer (if any) that the account changed."""
        if self.on_change is not None:
            self.on_change(self)

    def next_id(self, type_name: str) -> tuple[str, int]:
        """Allocate the next global id of ``type_name``."""
        n = self.counters.get(type_name, 0) + 1
        self.counters[type_name] = n
        return encode_id(type_name, n), n

    def add_user(
        self,
        *,
        name: str,
        email: str | None,
        role: str,
        status: str = "ACTIVE",
        when: datetime | None = None,
        is_bot: bool = False,
    ) -> User:
        """Store a new user with a predefined account role; a bot (``email`` None) gets the
        address service keys' users have."""
        user_id, n = self.next_id("User")
        user = User(
            id=user_id,
            n=n,
            name=name,
            email=email or f"service-key-{n}@bots.arize.local",
            created_at=when or utcnow(),
            status=status,
            role=predefined(role),
            is_developer=is_bot or role != "ANNOTATOR",
            is_bot=is_bot,
        )
        self.users[user_id] = user
        return user

    def _audit(self, caller: Caller, name: str, text: str, variables: dict[str, Any]) -> None:
        log_id, n = self.next_id("AuditLog")
        self.audit_logs[log_id] = AuditLog(
            id=log_id,
            n=n,
            user_id=caller.user.id,
            ip=caller.ip,
            operation_type="MUTATION",
            created_at=utcnow(),
            operation_name=name,
            operation_text=text,
            variables=json.dumps(variables, default=str, sort_keys=True),
        )

    @staticmethod
    def _sort_key(obj: Any) -> tuple[float, int]:
        return (obj.created_at.timestamp(), obj.n)

    def _page(
        self,
        list_name: str,
        items: Iterable[_T],
        *,
        limit: int | None,
        cursor: str | None,
        filters: dict[str, Any],
        visible: Callable[[_T], bool] | None = None,
    ) -> Page[_T]:
        """One page of the list ``list_name`` (see ``PAGINATION_MODEL``), in creation order."""
        return paginate(
            PAGINATION_MODEL[list_name],
            items,
            sort_key=self._sort_key,
            limit=limit,
            cursor=cursor,
            filters=filters,
            visible=visible,
        )

    def _page_table(
        self,
        list_name: str,
        table: Table[_T],
        *,
        predicate: Callable[[_T], bool],
        limit: int | None,
        cursor: str | None,
        filters: dict[str, Any],
    ) -> Page[_T]:
        """:meth:`_page` over the rows of ``table`` matching ``predicate``, in O(page)."""
        return paginate_table(
            PAGINATION_MODEL[list_name],
            table,
            predicate=predicate,
            sort_key=self._sort_key,
            limit=limit,
            cursor=cursor,
            filters=filters,
        )

    def _lookup(
        self,
        table: Mapping[str, _T],
        obj_id: str,
        *,
        kind: str,
        label: str,
        field: str,
        gone: Callable[[_T], bool] | None = None,
    ) -> _T:
        """One lookup for every kind: a malformed or mistyped id is 400, an absent one 404."""
        decode_id(obj_id, kind, field=field)
        obj = table.get(obj_id)
        if obj is None or (gone is not None and gone(obj)):
            raise NotFound(f"{label} '{obj_id}' not found.")
        return obj

    def _user(self, user_id: str, *, field: str = "user_id") -> User:
        return self._lookup(
            self.users, user_id, kind="User", label="User", field=field,
            gone=lambda user: user.status == "DELETED",
        )

    def _org(self, org_id: str, *, field: str = "organization_id") -> Organization:
        return self._lookup(
            self.orgs, org_id, kind="Organization", label="Organization", field=field
        )

    def _space(self, space_id: str, *, field: str = "space_id") -> Space:
        return self._lookup(self.spaces, space_id, kind="Space", label="Space", field=field)

    def _project(self, project_id: str, *, field: str = "project_id") -> Project:
        return self._lookup(
            self.projects, project_id, kind="Model", label="Project", field=field
        )

    def _role(self, role_id: str, *, field: str = "role_id") -> Role:
        return self._lookup(
            self.roles, role_id, kind="Role", label="Role", field=field,
            gone=lambda role: role.deleted,
        )

    def user_status(self, user: User) -> str:
        """Return the user's status, turning an invitation older than the TTL into EXPIRED."""
        invited_at = user.invited_at
        if user.status == "INVITED" and invited_at and utcnow() - invited_at > INVITE_TTL:
            return "EXPIRED"
        return user.status

    def role_name(self, role_id: str) -> str | None:
        """Return the name of a role (deleted roles included), for CUSTOM assignments."""
        role = self.roles.get(role_id)
        return role.name if role else None

    def org_membership(self, user_id: str, org_id: str) -> OrgMember | None:
        """Return the user's membership in the org, if any."""
        for m in self.org_memberships_of(user_id):
            if m.org_id == org_id:
                return m
        return None

    def space_membership(self, user_id: str, space_id: str) -> SpaceMember | None:
        """Return the user's membership in the space, if any."""
        for m in self.space_memberships_of(user_id):
            if m.space_id == space_id:
                return m
        return None

    def org_memberships_of(self, user_id: str) -> list[OrgMember]:
        """Every org membership of a user (a copy: callers delete while they walk it)."""
        return list(self.org_members.group_by("user_id", _user_id).get(user_id, ()))

    def space_memberships_of(self, user_id: str) -> list[SpaceMember]:
        """Every space membership of a user (a copy: callers delete while they walk it)."""
        return list(self.space_members.group_by("user_id", _user_id).get(user_id, ()))

    def _bindings_of(self, user_id: str) -> list[RoleBinding]:
        return list(self.bindings.group_by("user_id", _user_id).get(user_id, ()))

    def user_bindings(self, user_id: str) -> list[RoleBinding]:
        """Return every role binding of a user."""
        return list(self._bindings_of(user_id))

    def key_spaces(self, key: ApiKey) -> list[Space]:
        """Return the spaces a service key is bound to (its bot user's space memberships)."""
        return [
            self.spaces[m.space_id]
            for m in self.space_memberships_of(key.user_id)
            if m.space_id in self.spaces
        ]

    def binding_on(self, user_id: str, resource_id: str) -> RoleBinding | None:
        """The user's one binding on a resource, if any."""
        return next((b for b in self._bindings_of(user_id) if b.resource_id == resource_id), None)

    def predefined_role_id(self, name: str) -> str:
        """The id of the predefined RBAC role for a predefined space role name."""
        for role in self.roles.values():
            if role.is_predefined and role.predefined_name == name:
                return role.id
        raise NotFound(f"Predefined role '{name}' not found.")  # pragma: no cover - seeded
