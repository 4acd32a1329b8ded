"""The emulated Arize account: every rule of the admin API, and nothing of HTTP.

This is moto's ``models.py``: routes read parameters, call one method here and render the
result. Every rule of the admin API lives here (docs/arize-admin-api.md lists
the ones Arize leaves open): uniqueness (409), existence (404), who may
call (401/403/404), request values the resource's state forbids (400/422), cascades, key
hashing and the audit log. Errors are the typed exceptions of :mod:`emulator.arize.errors`.

Each mutating method is wrapped by :func:`mutation`, which writes the audit-log entry and
tells the persistence layer that the account changed (one snapshot per mutation).

Authorization model (the "who may call" of each endpoint):

- account role ``ADMIN`` may do everything; ``MEMBER`` (and ``MEMBER_UI_ONLY``) may read the
  account (users, roles) and create users; ``ANNOTATOR`` may read only what it is given;
- an org ``ADMIN`` is admin of every space of the org; org ``MEMBER``/``READ_ONLY`` members
  see the org's public spaces read-only;
- a space membership grants its predefined role's permissions (see
  :mod:`emulator.arize.permissions`) or its custom role's; SPACE role bindings add their role's
  permissions on the space, PROJECT bindings on the project;
- a restricted project ignores everything inherited from the space except space/org/account
  admin: otherwise only PROJECT role bindings on it grant access;
- a service key acts as its bot user, with the account, org and space roles it was created with.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from emulator.arize.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    UnprocessableEntity,
)
from emulator.arize.ids import decode_id, encode_id, id_type
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
    Space,
    SpaceMember,
    User,
    utcnow,
)
from emulator.arize.pagination import PAGINATION_MODEL, Page, paginate, paginate_table
from emulator.arize.permissions import (
    ALL_PERMISSIONS,
    ORG_INHERITED_PERMISSIONS,
    PREDEFINED_PERMISSIONS,
    PREDEFINED_ROLE_NAMES,
)
from emulator.arize.tables import Table

__all__ = ["AccountState", "Caller", "hash_key", "mutation"]

F = TypeVar("F", bound=Callable[..., Any])
_T = TypeVar("_T")

ACCOUNT_LEVEL = {"ADMIN": 3, "MEMBER": 2, "MEMBER_UI_ONLY": 1, "ANNOTATOR": 0}
SCOPE_LEVEL = {"ADMIN": 3, "MEMBER": 2, "READ_ONLY": 1, "ANNOTATOR": 0}
USER_STATUSES = ("ACTIVE", "INVITED", "EXPIRED")
ROLE_NAME_RE = re.compile(r"^[a-zA-Z0-9 \-_.,()\[\]'\"/:\\&@#$%!?+=]+$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Never copied into an audit entry's variables: secrets, and values that may hold them.
_SECRET_ARGS = frozenset({"key", "raw_key", "password", "temporary_password", "secret"})
INVITE_TTL = timedelta(days=7)
MAX_GRACE_SECONDS = 86400


def hash_key(raw: str) -> str:
    """Return the stored form of an API key (hex sha256); raw values are never stored."""
    return hashlib.sha256(raw.encode()).hexdigest()


def new_raw_key() -> str:
    """Return a fresh API key value."""
    return "ak-" + secrets.token_urlsafe(30)


def redact(raw: str) -> str:
    """Return the ``redacted_key`` shown for ``raw`` (``ak-abc...xyz``)."""
    return f"{raw[:6]}...{raw[-3:]}"


def _email_key(user: User) -> str:
    return user.email.lower()


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
        def wrapper(self: AccountState, caller: Caller, *args: Any, **kwargs: Any) -> Any:
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


class AccountState:
    """One emulated Arize account (each app has its own; no process-wide singleton)."""

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
        self.counters: dict[str, int] = {}
        self.max_key_lifetime: timedelta | None = None
        self.on_change: Callable[[AccountState], None] | None = None

    # ------------------------------------------------------------------ plumbing

    def changed(self) -> None:
        """Tell the persistence layer (if any) that the account changed."""
        if self.on_change is not None:
            self.on_change(self)

    def next_id(self, type_name: str) -> tuple[str, int]:
        """Allocate the next global id of ``type_name``."""
        n = self.counters.get(type_name, 0) + 1
        self.counters[type_name] = n
        return encode_id(type_name, n), n

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

    # ------------------------------------------------------------------ lookups

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

    # ------------------------------------------------------------------ authorization

    @staticmethod
    def account_role(user: User) -> str:
        """Return the user's predefined account role name."""
        return str(user.role.get("name") or "MEMBER")

    def is_account_admin(self, user: User) -> bool:
        """Account ADMIN: everything."""
        return self.account_role(user) == "ADMIN"

    def is_account_member(self, user: User) -> bool:
        """ADMIN or MEMBER at account level (MEMBER_UI_ONLY counts as a member)."""
        return self.account_role(user) in {"ADMIN", "MEMBER", "MEMBER_UI_ONLY"}

    def org_role(self, user: User, org_id: str) -> str | None:
        """Effective predefined org role (account admins are ADMIN everywhere)."""
        if self.is_account_admin(user):
            return "ADMIN"
        m = self.org_membership(user.id, org_id)
        return str(m.role.get("name")) if m else None

    def is_org_admin(self, user: User, org_id: str) -> bool:
        """Account admin or org ADMIN."""
        return self.org_role(user, org_id) == "ADMIN"

    def is_space_admin(self, user: User, space: Space) -> bool:
        """Org admin, or a PREDEFINED ADMIN membership in the space."""
        if self.is_org_admin(user, space.org_id):
            return True
        m = self.space_membership(user.id, space.id)
        return bool(m and m.role.get("type") == "PREDEFINED" and m.role.get("name") == "ADMIN")

    def _role_permissions(self, assignment: dict[str, Any]) -> frozenset[str]:
        if assignment.get("type") == "PREDEFINED":
            return PREDEFINED_PERMISSIONS.get(str(assignment.get("name")), frozenset())
        role = self.roles.get(str(assignment.get("id")))
        return frozenset(role.permissions) if role and not role.deleted else frozenset()

    def _binding_permissions(self, user: User, resource_id: str) -> set[str]:
        perms: set[str] = set()
        for b in self._bindings_of(user.id):
            if b.resource_id == resource_id:
                role = self.roles.get(b.role_id)
                if role and not role.deleted:
                    perms |= set(role.permissions)
        return perms

    def space_permissions(self, user: User, space: Space) -> set[str]:
        """Permissions of ``user`` on ``space`` (membership, org membership, SPACE bindings)."""
        if self.is_org_admin(user, space.org_id):
            return set(ALL_PERMISSIONS)
        perms: set[str] = set()
        m = self.space_membership(user.id, space.id)
        if m is not None:
            perms |= self._role_permissions(m.role)
        org_role = self.org_role(user, space.org_id)
        if not space.is_private and org_role in {"MEMBER", "READ_ONLY"}:
            perms |= ORG_INHERITED_PERMISSIONS
        perms |= self._binding_permissions(user, space.id)
        return perms

    def can_see_space(self, user: User, space: Space) -> bool:
        """Private spaces: members and admins only; public ones: the org's members too."""
        if self.is_org_admin(user, space.org_id) or self.space_membership(user.id, space.id):
            return True
        if not space.is_private and self.org_membership(user.id, space.org_id):
            return True
        return any(
            b.resource_id == space.id
            or (
                b.resource_id in self.projects
                and self.projects[b.resource_id].space_id == space.id
            )
            for b in self._bindings_of(user.id)
        )

    def has_project_binding(self, user: User, project: Project) -> bool:
        """Whether the user holds a PROJECT role binding on the project."""
        return any(b.resource_id == project.id for b in self._bindings_of(user.id))

    def project_permissions(self, user: User, project: Project) -> set[str]:
        """Permissions on a project; a restricted project inherits nothing but admin."""
        space = self.spaces[project.space_id]
        if self.is_org_admin(user, space.org_id):
            # Everything already; skip the binding lookup (admins list every binding).
            return set(ALL_PERMISSIONS)
        if project.id in self.restrictions:
            if self.is_space_admin(user, space):
                return set(ALL_PERMISSIONS)
            return self._binding_permissions(user, project.id)
        return self.space_permissions(user, space) | self._binding_permissions(user, project.id)

    def can_see_project(self, user: User, project: Project) -> bool:
        """Restricted: admins and PROJECT bindings only; otherwise whoever sees the space."""
        space = self.spaces[project.space_id]
        if self.has_project_binding(user, project):
            return True
        if project.id in self.restrictions:
            return self.is_space_admin(user, space)
        return self.can_see_space(user, space) and bool(
            self.space_permissions(user, space) & {"PROJECT_READ", "SPACE_READ"}
        )

    def resource_permissions(self, user: User, resource_type: str, resource_id: str) -> set[str]:
        """Permissions on a SPACE or PROJECT (empty if it does not exist)."""
        if resource_type == "SPACE":
            space = self.spaces.get(resource_id)
            return self.space_permissions(user, space) if space else set()
        project = self.projects.get(resource_id)
        return self.project_permissions(user, project) if project else set()

    def _require_account_member(self, caller: Caller, action: str) -> None:
        if not self.is_account_member(caller.user):
            raise Forbidden(f"Your account role does not allow you to {action}.")

    def _require_account_admin(self, caller: Caller, action: str) -> None:
        if not self.is_account_admin(caller.user):
            raise Forbidden(f"Only account admins may {action}.")

    # ------------------------------------------------------------------ authentication

    def authenticate(self, raw_key: str, ip: str = "127.0.0.1") -> Caller:
        """Resolve a bearer key to its caller.

        Raises:
            Unauthorized: Unknown, revoked or expired key, or its user was deleted.
        """
        secret = self.secrets.get(hash_key(raw_key))
        now = utcnow()
        key = self.api_keys.get(secret.key_id) if secret else None
        if secret is None or key is None or key.status != "ACTIVE":
            raise Unauthorized("Invalid or revoked API key.")
        if key.expires_at is not None and key.expires_at <= now:
            raise Unauthorized("API key expired.")
        if secret.valid_until is not None and secret.valid_until <= now:
            raise Unauthorized("API key expired.")
        user = self.users.get(key.user_id)
        if user is None or user.status == "DELETED":
            raise Unauthorized("Invalid or revoked API key.")
        key.last_used_at = now
        return Caller(user=user, key=key, ip=ip)

    def _store_key(
        self,
        *,
        name: str,
        description: str | None,
        key_type: str,
        user_id: str,
        created_by: str,
        expires_at: datetime | None,
        raw: str | None = None,
        created_at: datetime | None = None,
    ) -> tuple[ApiKey, str]:
        raw = raw or new_raw_key()
        key_id, n = self.next_id("ApiKey")
        key = ApiKey(
            id=key_id,
            n=n,
            name=name,
            description=description,
            key_type=key_type,
            status="ACTIVE",
            redacted_key=redact(raw),
            created_at=created_at or utcnow(),
            created_by_user_id=created_by,
            user_id=user_id,
            expires_at=expires_at,
        )
        self.api_keys[key_id] = key
        self.secrets[hash_key(raw)] = KeySecret(key_id=key_id)
        return key, raw

    def issue_user_key(
        self, user_id: str, *, name: str = "emulator", raw: str | None = None
    ) -> str:
        """Control plane: issue a user API key for any user (tests act as that user)."""
        with self.lock:
            user = self._user(user_id)
            _, value = self._store_key(
                name=name,
                description="Issued by the emulator control plane.",
                key_type="USER",
                user_id=user.id,
                created_by=user.id,
                expires_at=None,
                raw=raw,
            )
            self.changed()
            return value

    # ------------------------------------------------------------------ users

    def list_users(
        self,
        caller: Caller,
        *,
        email: str | None,
        statuses: list[str] | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[User]:
        """GET /v2/users."""
        self._require_account_member(caller, "list users")
        wanted = set(statuses or USER_STATUSES)
        needle = (email or "").lower()
        return paginate_table(
            PAGINATION_MODEL["users"],
            self.users,
            predicate=lambda u: (
                not u.is_bot
                and u.status != "DELETED"
                and self.user_status(u) in wanted
                and needle in u.email.lower()
            ),
            sort_key=self._sort_key,
            limit=limit,
            cursor=cursor,
            filters={"email": email, "status": sorted(wanted)},
        )

    def get_user(self, caller: Caller, user_id: str) -> User:
        """GET /v2/users/{user_id}: 404 (never 403) for callers who may not read users."""
        user = self._user(user_id)
        if not self.is_account_member(caller.user) and user.id != caller.user.id:
            raise NotFound(f"User '{user_id}' not found.")
        return user

    @mutation("createUser", "POST /v2/users")
    def create_user(
        self, caller: Caller, *, name: str, email: str, role: dict[str, Any], invite_mode: str
    ) -> tuple[User, bool, str | None]:
        """POST /v2/users, idempotent on email (§4.3).

        Returns:
            The user, whether it was created (201) rather than found (200), and the temporary
            password (TEMPORARY_PASSWORD invites only, returned once, never stored).
        """
        self._require_account_member(caller, "create users")
        name = name.strip()
        if not name:
            raise BadRequest("name must not be blank.")
        if not EMAIL_RE.match(email):
            raise UnprocessableEntity(f"'{email}' is not a valid email address.")
        if role.get("type") != "PREDEFINED" or role.get("name") not in {
            "ADMIN",
            "MEMBER",
            "ANNOTATOR",
        }:
            raise BadRequest("role must be PREDEFINED ADMIN, MEMBER or ANNOTATOR.")
        if not self.is_account_admin(caller.user) and role["name"] == "ADMIN":
            raise Forbidden("Members may only assign the MEMBER or ANNOTATOR role.")
        existing = next(
            (u for u in self.users.group_by("email", _email_key).get(email.lower(), ())
             if not u.is_bot),
            None,
        )
        now = utcnow()
        if existing is not None:
            status = self.user_status(existing)
            if existing.status == "DELETED":
                raise Conflict(f"User '{email}' was deleted and cannot be re-invited.")
            if status == "ACTIVE":
                raise Conflict(f"User '{email}' already exists and is active.")
            if status == "INVITED":
                return existing, False, None
            # EXPIRED: a fresh invitation for the same user.
            existing.name, existing.role = name, dict(role)
        user = existing
        if user is None:
            user_id, n = self.next_id("User")
            user = User(
                id=user_id,
                n=n,
                name=name,
                email=email,
                created_at=now,
                status="INVITED",
                role=dict(role),
                is_developer=role["name"] != "ANNOTATOR",
            )
            self.users[user_id] = user
        temporary_password = None
        if invite_mode == "NONE":
            user.status, user.invited_at = "ACTIVE", None
        else:
            user.status, user.invited_at = "INVITED", now
            if invite_mode == "TEMPORARY_PASSWORD":
                temporary_password = secrets.token_urlsafe(12)
        return user, True, temporary_password

    @mutation("updateUser", "PATCH /v2/users/{user_id}")
    def update_user(
        self, caller: Caller, user_id: str, *, name: str | None, is_developer: bool | None
    ) -> User:
        """PATCH /v2/users/{user_id}."""
        user = self._user(user_id)
        if name is None and is_developer is None:
            raise BadRequest("At least one of name or is_developer is required.")
        if not self.is_account_admin(caller.user):
            if is_developer is not None:
                raise Forbidden("Only account admins may change is_developer.")
            raise Forbidden("Only account admins may update users.")
        if name is not None:
            if not name.strip():
                raise BadRequest("name must not be blank.")
            user.name = name.strip()
        if is_developer is not None:
            user.is_developer = is_developer
        return user

    def _cascade_user_removal(self, user: User) -> None:
        for m in [m for m in self.org_members.values() if m.user_id == user.id]:
            del self.org_members[m.id]
        for m in [m for m in self.space_members.values() if m.user_id == user.id]:
            del self.space_members[m.id]
        for b in self.user_bindings(user.id):
            del self.bindings[b.id]
        for key in self.api_keys.values():
            if key.user_id == user.id and key.key_type == "USER":
                self._revoke(key)

    @mutation("deleteUser", "DELETE /v2/users/{user_id}")
    def delete_user(self, caller: Caller, user_id: str) -> None:
        """DELETE /v2/users/{user_id}: terminal, cascades; deleting a deleted user is a no-op."""
        self._require_account_admin(caller, "delete users")
        decode_id(user_id, "User", field="user_id")
        user = self.users.get(user_id)
        if user is None:
            raise NotFound(f"User '{user_id}' not found.")
        if user.id == caller.user.id:
            raise BadRequest("You cannot delete yourself.")
        if user.status == "DELETED":
            return
        user.status, user.deleted_at = "DELETED", utcnow()
        self._cascade_user_removal(user)

    @mutation("resendInvitation", "POST /v2/users/{user_id}/resend-invitation")
    def resend_invitation(self, caller: Caller, user_id: str) -> None:
        """POST /v2/users/{user_id}/resend-invitation: only unverified users."""
        self._require_account_member(caller, "resend invitations")
        user = self._user(user_id)
        if self.user_status(user) == "ACTIVE":
            raise BadRequest("User has already verified their email.")
        user.status, user.invited_at = "INVITED", utcnow()

    @mutation("resetPassword", "POST /v2/users/{user_id}/reset-password")
    def reset_password(self, caller: Caller, user_id: str) -> None:
        """POST /v2/users/{user_id}/reset-password: only verified users.

        The emulated account has no SAML IdP, so no user is refused for SSO.
        """
        self._require_account_admin(caller, "reset passwords")
        user = self._user(user_id)
        if self.user_status(user) != "ACTIVE" or user.is_bot:
            raise BadRequest("User has not verified their email yet.")

    # ------------------------------------------------------------------ organizations

    def _visible_org(self, user: User, org: Organization) -> bool:
        return self.is_account_admin(user) or self.org_membership(user.id, org.id) is not None

    def list_organizations(
        self, caller: Caller, *, name: str | None, limit: int | None, cursor: str | None
    ) -> Page[Organization]:
        """GET /v2/organizations: the orgs the caller belongs to (all for admins)."""
        needle = (name or "").lower()
        items = [
            o
            for o in self.orgs.values()
            if self._visible_org(caller.user, o) and needle in o.name.lower()
        ]
        return paginate(
            PAGINATION_MODEL["organizations"],
            items,
            sort_key=self._sort_key,
            limit=limit,
            cursor=cursor,
            filters={"name": name},
        )

    def get_organization(self, caller: Caller, org_id: str) -> Organization:
        """GET /v2/organizations/{org_id}."""
        org = self._org(org_id, field="org_id")
        if not self._visible_org(caller.user, org):
            raise NotFound(f"Organization '{org_id}' not found.")
        return org

    def _check_org_name(self, name: str, *, exclude: str | None = None) -> None:
        if not name.strip():
            raise BadRequest("name must not be blank.")
        if any(o.name == name and o.id != exclude for o in self.orgs.values()):
            raise Conflict(f"An organization named '{name}' already exists.")

    @mutation("createOrganization", "POST /v2/organizations")
    def create_organization(
        self, caller: Caller, *, name: str, description: str | None
    ) -> Organization:
        """POST /v2/organizations: account admins only; names unique in the account."""
        self._require_account_admin(caller, "create organizations")
        self._check_org_name(name)
        org_id, n = self.next_id("Organization")
        org = Organization(
            id=org_id, n=n, name=name, description=description or "", created_at=utcnow()
        )
        self.orgs[org_id] = org
        return org

    @mutation("updateOrganization", "PATCH /v2/organizations/{org_id}")
    def update_organization(
        self, caller: Caller, org_id: str, *, changes: dict[str, Any]
    ) -> Organization:
        """PATCH /v2/organizations/{org_id}: ``description: null`` clears it."""
        org = self.get_organization(caller, org_id)
        if not changes:
            raise BadRequest("At least one of name or description is required.")
        if not self.is_org_admin(caller.user, org.id):
            raise Forbidden("Only organization admins may update the organization.")
        if "name" in changes:
            if changes["name"] is None:
                raise UnprocessableEntity("name must not be null.")
            self._check_org_name(changes["name"], exclude=org.id)
            org.name = changes["name"]
        if "description" in changes:
            org.description = changes["description"] or ""
        return org

    def _delete_space_tree(self, space: Space) -> None:
        for project in [p for p in self.projects.values() if p.space_id == space.id]:
            self._delete_project_tree(project)
        for b in [b for b in self.bindings.values() if b.resource_id == space.id]:
            del self.bindings[b.id]
        for m in [m for m in self.space_members.values() if m.space_id == space.id]:
            del self.space_members[m.id]
        del self.spaces[space.id]

    def _delete_project_tree(self, project: Project) -> None:
        for b in [b for b in self.bindings.values() if b.resource_id == project.id]:
            del self.bindings[b.id]
        self.restrictions.pop(project.id, None)
        del self.projects[project.id]

    @mutation("deleteOrganization", "DELETE /v2/organizations/{org_id}")
    def delete_organization(self, caller: Caller, org_id: str) -> None:
        """DELETE /v2/organizations/{org_id}: spaces, projects, memberships, service keys."""
        org = self.get_organization(caller, org_id)
        if not self.is_org_admin(caller.user, org.id):
            raise Forbidden("Only organization admins may delete the organization.")
        bots = {m.user_id for m in self.org_members.values() if m.org_id == org.id}
        for space in [s for s in self.spaces.values() if s.org_id == org.id]:
            self._delete_space_tree(space)
        for m in [m for m in self.org_members.values() if m.org_id == org.id]:
            del self.org_members[m.id]
        for key in self.api_keys.values():
            if key.key_type == "SERVICE" and key.user_id in bots:
                still_bound = any(m.user_id == key.user_id for m in self.org_members.values())
                if not still_bound:
                    self._revoke(key)
        del self.orgs[org.id]

    def _check_annotator_rule(self, user: User, role: dict[str, Any]) -> None:
        account_annotator = self.account_role(user) == "ANNOTATOR"
        is_annotator_role = role.get("type") == "PREDEFINED" and role.get("name") == "ANNOTATOR"
        if account_annotator and not is_annotator_role:
            raise BadRequest("A user with the account role ANNOTATOR may only be given ANNOTATOR.")
        if not account_annotator and is_annotator_role:
            raise BadRequest("Only users with the account role ANNOTATOR may be given ANNOTATOR.")

    @mutation("addOrganizationUser", "POST /v2/organizations/{org_id}/users")
    def add_organization_user(
        self, caller: Caller, org_id: str, *, user_id: str, role: dict[str, Any]
    ) -> OrgMember:
        """POST /v2/organizations/{org_id}/users: upsert; predefined roles only."""
        org = self.get_organization(caller, org_id)
        if not self.is_org_admin(caller.user, org.id):
            raise Forbidden("Only organization admins may add users.")
        user = self._user(user_id)
        if role.get("type") == "CUSTOM":
            raise BadRequest("Custom roles are not yet supported for organizations.")
        self._check_annotator_rule(user, role)
        return self._upsert_org_member(user, org, role)

    def _upsert_org_member(self, user: User, org: Organization, role: dict[str, Any]) -> OrgMember:
        m = self.org_membership(user.id, org.id)
        if m is None:
            m_id, n = self.next_id("OrganizationMember")
            m = OrgMember(id=m_id, n=n, user_id=user.id, org_id=org.id, role=dict(role))
            self.org_members[m_id] = m
        else:
            m.role = dict(role)
        return m

    @mutation("removeOrganizationUser", "DELETE /v2/organizations/{org_id}/users/{user_id}")
    def remove_organization_user(self, caller: Caller, org_id: str, user_id: str) -> None:
        """DELETE /v2/organizations/{org_id}/users/{user_id}: also leaves every org space."""
        org = self.get_organization(caller, org_id)
        if not self.is_org_admin(caller.user, org.id):
            raise Forbidden("Only organization admins may remove users.")
        user = self._user(user_id)
        m = self.org_membership(user.id, org.id)
        if m is None:
            raise NotFound(f"User '{user_id}' is not a member of organization '{org_id}'.")
        del self.org_members[m.id]
        for space in [s for s in self.spaces.values() if s.org_id == org.id]:
            self._remove_from_space(user, space)

    # ------------------------------------------------------------------ spaces

    def list_spaces(
        self,
        caller: Caller,
        *,
        org_id: str | None,
        name: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[Space]:
        """GET /v2/spaces: the spaces the caller can see."""
        if org_id is not None:
            self._org(org_id, field="org_id")
        needle = (name or "").lower()
        return paginate_table(
            PAGINATION_MODEL["spaces"],
            self.spaces,
            predicate=lambda s: (
                (org_id is None or s.org_id == org_id)
                and needle in s.name.lower()
                and self.can_see_space(caller.user, s)
            ),
            sort_key=self._sort_key,
            limit=limit,
            cursor=cursor,
            filters={"org_id": org_id, "name": name},
        )

    def get_space(self, caller: Caller, space_id: str) -> Space:
        """GET /v2/spaces/{space_id}."""
        space = self._space(space_id)
        if not self.can_see_space(caller.user, space):
            raise NotFound(f"Space '{space_id}' not found.")
        return space

    def _check_space_name(self, org_id: str, name: str, *, exclude: str | None = None) -> None:
        if not name.strip():
            raise BadRequest("name must not be blank.")
        if any(
            s.org_id == org_id and s.name == name and s.id != exclude for s in self.spaces.values()
        ):
            raise Conflict(f"A space named '{name}' already exists in this organization.")

    @mutation("createSpace", "POST /v2/spaces")
    def create_space(
        self,
        caller: Caller,
        *,
        name: str,
        organization_id: str,
        description: str | None,
        is_private: bool | None,
    ) -> Space:
        """POST /v2/spaces: org admins; names unique within the org."""
        org = self._org(organization_id)
        if not self._visible_org(caller.user, org):
            raise NotFound(f"Organization '{organization_id}' not found.")
        if not self.is_org_admin(caller.user, org.id):
            raise Forbidden("Only organization admins may create spaces.")
        self._check_space_name(org.id, name)
        space_id, n = self.next_id("Space")
        space = Space(
            id=space_id,
            n=n,
            org_id=org.id,
            name=name,
            description=description or "",
            created_at=utcnow(),
            is_private=bool(is_private),
        )
        self.spaces[space_id] = space
        return space

    @mutation("updateSpace", "PATCH /v2/spaces/{space_id}")
    def update_space(self, caller: Caller, space_id: str, *, changes: dict[str, Any]) -> Space:
        """PATCH /v2/spaces/{space_id}: omitted fields unchanged, null clears nullable ones."""
        space = self.get_space(caller, space_id)
        if not changes:
            raise BadRequest("At least one field is required.")
        if "SPACE_UPDATE" not in self.space_permissions(caller.user, space):
            raise Forbidden("You need SPACE_UPDATE on this space.")
        if "description" in changes and changes["description"] == "":
            raise BadRequest("description must not be empty; send null to clear it.")
        for field in ("name", "is_private", "ml_models_enabled"):
            if field in changes and changes[field] is None:
                raise UnprocessableEntity(f"{field} must not be null.")
        if "name" in changes:
            self._check_space_name(space.org_id, changes["name"], exclude=space.id)
        for field, value in changes.items():
            if field == "description":
                value = value or ""
            setattr(space, field, value)
        return space

    @mutation("deleteSpace", "DELETE /v2/spaces/{space_id}")
    def delete_space(self, caller: Caller, space_id: str) -> None:
        """DELETE /v2/spaces/{space_id}: its projects, bindings, restrictions and members."""
        space = self.get_space(caller, space_id)
        if "SPACE_DELETE" not in self.space_permissions(caller.user, space):
            raise Forbidden("You need SPACE_DELETE on this space.")
        self._delete_space_tree(space)

    @mutation("addSpaceUser", "POST /v2/spaces/{space_id}/users")
    def add_space_user(
        self, caller: Caller, space_id: str, *, user_id: str, role: dict[str, Any]
    ) -> SpaceMember:
        """POST /v2/spaces/{space_id}/users: upsert; the user must be in the parent org."""
        space = self.get_space(caller, space_id)
        if role.get("type") == "CUSTOM":
            if "ROLE_BINDING_CREATE" not in self.space_permissions(caller.user, space):
                raise Forbidden("You need ROLE_BINDING_CREATE on this space.")
        elif not self.is_space_admin(caller.user, space):
            raise Forbidden("Only space admins may add users.")
        user = self._user(user_id)
        if role.get("type") == "CUSTOM":
            self._role(str(role.get("id")), field="role.id")
        if self.org_membership(user.id, space.org_id) is None:
            raise BadRequest("The user must be a member of the space's organization first.")
        self._check_annotator_rule(user, role)
        return self._upsert_space_member(user, space, role)

    def predefined_role_id(self, name: str) -> str:
        """The id of the predefined RBAC role for a predefined space role name."""
        for role in self.roles.values():
            if role.is_predefined and role.predefined_name == name:
                return role.id
        raise NotFound(f"Predefined role '{name}' not found.")  # pragma: no cover - seeded

    @staticmethod
    def assignment_for(role: Role) -> dict[str, Any]:
        """The space role assignment that a binding to ``role`` stands for."""
        if role.is_predefined and role.predefined_name:
            return predefined(role.predefined_name)
        return {"type": "CUSTOM", "id": role.id}

    def _upsert_space_member(
        self, user: User, space: Space, role: dict[str, Any], *, when: datetime | None = None
    ) -> SpaceMember:
        """Set the user's role on a space: the membership row and its one SPACE binding.

        A space membership *is* the user's single role binding on the space (predefined roles
        are Role objects too), so ``GET /v2/role-bindings?resource_type=SPACE`` lists
        memberships, and the two are created, changed and removed together.
        """
        stored = (
            {"type": "CUSTOM", "id": role["id"]} if role.get("type") == "CUSTOM" else dict(role)
        )
        role_id = (
            stored["id"] if stored["type"] == "CUSTOM" else self.predefined_role_id(stored["name"])
        )
        now = when or utcnow()
        m = self.space_membership(user.id, space.id)
        if m is None:
            m_id, n = self.next_id("SpaceMember")
            m = SpaceMember(id=m_id, n=n, user_id=user.id, space_id=space.id, role=stored)
            self.space_members[m_id] = m
        else:
            m.role = stored
        existing = self.binding_on(user.id, space.id)
        if existing is None:
            b_id, n = self.next_id("RoleBinding")
            self.bindings[b_id] = RoleBinding(
                id=b_id,
                n=n,
                role_id=role_id,
                user_id=user.id,
                resource_type="SPACE",
                resource_id=space.id,
                created_at=now,
                updated_at=now,
            )
        elif existing.role_id != role_id:
            existing.role_id, existing.updated_at = role_id, now
        return m

    def binding_on(self, user_id: str, resource_id: str) -> RoleBinding | None:
        """The user's one binding on a resource, if any."""
        return next((b for b in self._bindings_of(user_id) if b.resource_id == resource_id), None)

    def _remove_from_space(self, user: User, space: Space) -> bool:
        m = self.space_membership(user.id, space.id)
        for b in [
            b for b in self.bindings.values() if b.user_id == user.id and b.resource_id == space.id
        ]:
            del self.bindings[b.id]
        if m is None:
            return False
        del self.space_members[m.id]
        return True

    @mutation("removeSpaceUser", "DELETE /v2/spaces/{space_id}/users/{user_id}")
    def remove_space_user(self, caller: Caller, space_id: str, user_id: str) -> None:
        """DELETE /v2/spaces/{space_id}/users/{user_id}: membership and its SPACE bindings."""
        space = self.get_space(caller, space_id)
        if not self.is_space_admin(caller.user, space) and (
            "ROLE_BINDING_DELETE" not in self.space_permissions(caller.user, space)
        ):
            raise Forbidden("Only space admins may remove users.")
        user = self._user(user_id)
        if self.space_membership(user.id, space.id) is None:
            raise NotFound(f"User '{user_id}' is not a member of space '{space_id}'.")
        self._remove_from_space(user, space)

    # ------------------------------------------------------------------ projects

    def list_projects(
        self,
        caller: Caller,
        *,
        space_id: str | None,
        space_name: str | None,
        name: str | None,
        project_type: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[Project]:
        """GET /v2/projects: restricted projects only for admins and bound users."""
        if space_id is not None:
            self.get_space(caller, space_id)
        space_needle = (space_name or "").lower()
        needle = (name or "").lower()
        return paginate_table(
            PAGINATION_MODEL["projects"],
            self.projects,
            predicate=lambda p: (
                (space_id is None or p.space_id == space_id)
                and space_needle in self.spaces[p.space_id].name.lower()
                and needle in p.name.lower()
                and (project_type is None or p.project_type == project_type)
                and self.can_see_project(caller.user, p)
            ),
            sort_key=self._sort_key,
            limit=limit,
            cursor=cursor,
            filters={
                "space_id": space_id,
                "space_name": space_name,
                "name": name,
                "project_type": project_type,
            },
        )

    def get_project(self, caller: Caller, project_id: str) -> Project:
        """GET /v2/projects/{project_id}."""
        project = self._project(project_id)
        if not self.can_see_project(caller.user, project):
            raise NotFound(f"Project '{project_id}' not found.")
        return project

    def _check_project_name(self, space_id: str, name: str, *, exclude: str | None = None) -> None:
        if not name.strip():
            raise BadRequest("name must not be blank.")
        if any(
            p.space_id == space_id and p.name == name and p.id != exclude
            for p in self.projects.values()
        ):
            raise Conflict(f"A project named '{name}' already exists in this space.")

    @mutation("createProject", "POST /v2/projects")
    def create_project(self, caller: Caller, *, name: str, space_id: str) -> Project:
        """POST /v2/projects: PROJECT_CREATE on the space (403 also for an unknown space)."""
        decode_id(space_id, "Space", field="space_id")
        space = self.spaces.get(space_id)
        if space is None or "PROJECT_CREATE" not in self.space_permissions(caller.user, space):
            raise Forbidden("You need PROJECT_CREATE on this space.")
        self._check_project_name(space.id, name)
        project_id, n = self.next_id("Model")
        project = Project(id=project_id, n=n, space_id=space.id, name=name, created_at=utcnow())
        self.projects[project_id] = project
        return project

    @mutation("updateProject", "PATCH /v2/projects/{project_id}")
    def update_project(self, caller: Caller, project_id: str, *, name: str) -> Project:
        """PATCH /v2/projects/{project_id}: rename."""
        project = self.get_project(caller, project_id)
        if "PROJECT_UPDATE" not in self.project_permissions(caller.user, project):
            raise Forbidden("You need PROJECT_UPDATE on this project.")
        self._check_project_name(project.space_id, name, exclude=project.id)
        project.name = name
        return project

    @mutation("deleteProject", "DELETE /v2/projects/{project_id}")
    def delete_project(self, caller: Caller, project_id: str) -> None:
        """DELETE /v2/projects/{project_id}: with its bindings and restriction."""
        project = self.get_project(caller, project_id)
        if "PROJECT_DELETE" not in self.project_permissions(caller.user, project):
            raise Forbidden("You need PROJECT_DELETE on this project.")
        self._delete_project_tree(project)

    # ------------------------------------------------------------------ roles

    def _require_role_read(self, caller: Caller) -> None:
        if not self.is_account_member(caller.user):
            raise Forbidden("You need ROLE_READ to read roles.")

    def list_roles(
        self, caller: Caller, *, is_predefined: bool | None, limit: int | None, cursor: str | None
    ) -> Page[Role]:
        """GET /v2/roles: predefined and custom roles of the account."""
        self._require_role_read(caller)
        items = [
            r
            for r in self.roles.values()
            if not r.deleted and (is_predefined is None or r.is_predefined == is_predefined)
        ]
        return paginate(
            PAGINATION_MODEL["roles"],
            items,
            sort_key=self._sort_key,
            limit=limit,
            cursor=cursor,
            filters={"is_predefined": is_predefined},
        )

    def get_role(self, caller: Caller, role_id: str) -> Role:
        """GET /v2/roles/{role_id}."""
        self._require_role_read(caller)
        return self._role(role_id)

    def _check_role_name(self, name: str, *, exclude: str | None = None) -> None:
        if not ROLE_NAME_RE.match(name):
            raise UnprocessableEntity(
                f"Role name '{name}' contains characters that are not allowed."
            )
        if any(r.name == name and not r.deleted and r.id != exclude for r in self.roles.values()):
            raise Conflict(f"A role named '{name}' already exists.")

    @staticmethod
    def _check_permissions(permissions: list[str]) -> list[str]:
        if not permissions:
            raise UnprocessableEntity("permissions must contain at least one permission.")
        unknown = sorted(set(permissions) - ALL_PERMISSIONS)
        if unknown:
            raise UnprocessableEntity(f"Unknown permissions: {', '.join(unknown)}.")
        return sorted(set(permissions))

    @mutation("createRole", "POST /v2/roles")
    def create_role(
        self, caller: Caller, *, name: str, permissions: list[str], description: str | None
    ) -> Role:
        """POST /v2/roles: account admins; names unique in the account."""
        self._require_account_admin(caller, "create roles")
        self._check_role_name(name)
        perms = self._check_permissions(permissions)
        role_id, n = self.next_id("Role")
        now = utcnow()
        role = Role(
            id=role_id,
            n=n,
            name=name,
            description=description or None,
            permissions=perms,
            is_predefined=False,
            created_at=now,
            updated_at=now,
        )
        self.roles[role_id] = role
        return role

    @mutation("updateRole", "PATCH /v2/roles/{role_id}")
    def update_role(self, caller: Caller, role_id: str, *, changes: dict[str, Any]) -> Role:
        """PATCH /v2/roles/{role_id}: permissions are replaced, ``description: null`` clears."""
        role = self.get_role(caller, role_id)
        self._require_account_admin(caller, "update roles")
        if role.is_predefined:
            raise BadRequest("Predefined roles cannot be updated.")
        if not changes:
            raise BadRequest("At least one of name, description or permissions is required.")
        if "name" in changes:
            if changes["name"] is None:
                raise UnprocessableEntity("name must not be null.")
            self._check_role_name(changes["name"], exclude=role.id)
        if "permissions" in changes:
            if changes["permissions"] is None:
                raise UnprocessableEntity("permissions must not be null.")
            role.permissions = self._check_permissions(changes["permissions"])
        if "name" in changes:
            role.name = changes["name"]
        if "description" in changes:
            role.description = changes["description"] or None
        role.updated_at = utcnow()
        return role

    @mutation("deleteRole", "DELETE /v2/roles/{role_id}")
    def delete_role(self, caller: Caller, role_id: str) -> None:
        """DELETE /v2/roles/{role_id}: soft delete; refused while bindings use it."""
        role = self.get_role(caller, role_id)
        self._require_account_admin(caller, "delete roles")
        if role.is_predefined:
            raise BadRequest("Predefined roles cannot be deleted.")
        in_use = any(b.role_id == role.id for b in self.bindings.values())
        if in_use:
            raise Conflict("The role still has role bindings; remove them first.")
        role.deleted = True
        role.updated_at = utcnow()

    # ------------------------------------------------------------------ role bindings

    def _resource_for_binding(self, resource_type: str, resource_id: str) -> None:
        expected = "Space" if resource_type == "SPACE" else "Model"
        decode_id(resource_id, expected, field="resource_id")

    def list_role_bindings(
        self,
        caller: Caller,
        *,
        resource_type: str,
        user_id: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[RoleBinding]:
        """GET /v2/role-bindings: only bindings on resources the caller may read bindings of."""
        if user_id is not None:
            self._user(user_id)
        return paginate_table(
            PAGINATION_MODEL["role_bindings"],
            self.bindings,
            predicate=lambda b: (
                b.resource_type == resource_type
                and (user_id is None or b.user_id == user_id)
                and "ROLE_BINDING_READ"
                in self.resource_permissions(caller.user, b.resource_type, b.resource_id)
            ),
            sort_key=self._sort_key,
            limit=limit,
            cursor=cursor,
            filters={"resource_type": resource_type, "user_id": user_id},
        )

    def _binding_with(self, caller: Caller, binding_id: str, *needed: str) -> RoleBinding:
        decode_id(binding_id, "RoleBinding", field="binding_id")
        binding = self.bindings.get(binding_id)
        if binding is not None:
            perms = self.resource_permissions(
                caller.user, binding.resource_type, binding.resource_id
            )
            if all(p in perms for p in needed):
                return binding
        raise NotFound(f"Role binding '{binding_id}' not found.")

    def get_role_binding(self, caller: Caller, binding_id: str) -> RoleBinding:
        """GET /v2/role-bindings/{binding_id}: 404 (never 403) without ROLE_BINDING_READ."""
        return self._binding_with(caller, binding_id, "ROLE_BINDING_READ")

    @mutation("createRoleBinding", "POST /v2/role-bindings")
    def create_role_binding(
        self, caller: Caller, *, user_id: str, role_id: str, resource_type: str, resource_id: str
    ) -> RoleBinding:
        """POST /v2/role-bindings: one per (user, resource); 403 also for an unknown resource."""
        self._resource_for_binding(resource_type, resource_id)
        decode_id(user_id, "User", field="user_id")
        decode_id(role_id, "Role", field="role_id")
        perms = self.resource_permissions(caller.user, resource_type, resource_id)
        if "ROLE_BINDING_CREATE" not in perms:
            raise Forbidden("You need ROLE_BINDING_CREATE on this resource.")
        user = self._user(user_id)
        role = self._role(role_id)
        if self.binding_on(user.id, resource_id) is not None:
            raise Conflict(
                "The user already has a role binding on this resource; update it instead."
            )
        if resource_type == "SPACE":
            # A SPACE binding is the user's space membership (see _upsert_space_member).
            self._upsert_space_member(user, self.spaces[resource_id], self.assignment_for(role))
            return self.binding_on(user.id, resource_id)  # type: ignore[return-value]
        b_id, n = self.next_id("RoleBinding")
        now = utcnow()
        binding = RoleBinding(
            id=b_id,
            n=n,
            role_id=role.id,
            user_id=user.id,
            resource_type=resource_type,
            resource_id=resource_id,
            created_at=now,
            updated_at=now,
        )
        self.bindings[b_id] = binding
        return binding

    @mutation("updateRoleBinding", "PATCH /v2/role-bindings/{binding_id}")
    def update_role_binding(self, caller: Caller, binding_id: str, *, role_id: str) -> RoleBinding:
        """PATCH /v2/role-bindings/{binding_id}: ROLE_BINDING_CREATE and _DELETE, else 404."""
        binding = self._binding_with(
            caller, binding_id, "ROLE_BINDING_CREATE", "ROLE_BINDING_DELETE"
        )
        role = self._role(role_id)
        if binding.resource_type == "SPACE":
            user = self.users[binding.user_id]
            self._upsert_space_member(
                user, self.spaces[binding.resource_id], self.assignment_for(role)
            )
        binding.role_id, binding.updated_at = role.id, utcnow()
        return binding

    @mutation("deleteRoleBinding", "DELETE /v2/role-bindings/{binding_id}")
    def delete_role_binding(self, caller: Caller, binding_id: str) -> None:
        """DELETE /v2/role-bindings/{binding_id}: needs ROLE_BINDING_DELETE (else 404)."""
        binding = self._binding_with(caller, binding_id, "ROLE_BINDING_DELETE")
        if binding.resource_type == "SPACE":
            self._remove_from_space(self.users[binding.user_id], self.spaces[binding.resource_id])
        self.bindings.pop(binding.id, None)

    # ------------------------------------------------------------------ resource restrictions

    def _may_manage_restriction(self, user: User, resource_id: str) -> bool:
        project = self.projects.get(resource_id)
        if project is None:
            return False
        space = self.spaces[project.space_id]
        return self.is_space_admin(user, space) or "PROJECT_RESTRICT" in (
            self.space_permissions(user, space) | self._binding_permissions(user, project.id)
        )

    def list_restrictions(
        self, caller: Caller, *, resource_type: str | None, limit: int | None, cursor: str | None
    ) -> Page[Restriction]:
        """GET /v2/resource-restrictions: filtered after paging, so pages may be short."""
        items = [
            r
            for r in self.restrictions.values()
            if resource_type is None or r.resource_type == resource_type
        ]
        return paginate(
            PAGINATION_MODEL["resource_restrictions"],
            items,
            sort_key=self._sort_key,
            limit=limit,
            cursor=cursor,
            filters={"resource_type": resource_type},
            visible=lambda r: self._may_manage_restriction(caller.user, r.resource_id),
        )

    def _restrictable_project(self, resource_id: str) -> Project:
        found = id_type(resource_id)
        if found is None:
            raise BadRequest(f"Invalid resource_id: '{resource_id}' is not a valid global id.")
        if found != "Model":
            raise BadRequest(f"Resources of type {found} cannot be restricted.")
        project = self.projects.get(resource_id)
        if project is None:
            raise NotFound(f"Resource '{resource_id}' not found.")
        return project

    @mutation("createResourceRestriction", "POST /v2/resource-restrictions")
    def restrict(self, caller: Caller, *, resource_id: str) -> Restriction:
        """POST /v2/resource-restrictions: idempotent; the type is inferred from the id."""
        project = self._restrictable_project(resource_id)
        if not self.can_see_project(caller.user, project):
            raise NotFound(f"Resource '{resource_id}' not found.")
        if not self._may_manage_restriction(caller.user, project.id):
            raise Forbidden("You need PROJECT_RESTRICT on this project.")
        existing = self.restrictions.get(project.id)
        if existing is not None:
            return existing
        self.counters["Restriction"] = n = self.counters.get("Restriction", 0) + 1
        restriction = Restriction(
            resource_id=project.id, resource_type="PROJECT", created_at=utcnow(), n=n
        )
        self.restrictions[project.id] = restriction
        return restriction

    @mutation("deleteResourceRestriction", "DELETE /v2/resource-restrictions/{resource_id}")
    def unrestrict(self, caller: Caller, resource_id: str) -> None:
        """DELETE /v2/resource-restrictions/{resource_id}: 404 when not restricted."""
        project = self._restrictable_project(resource_id)
        if project.id not in self.restrictions:
            raise NotFound(f"Resource '{resource_id}' is not restricted.")
        if not self._may_manage_restriction(caller.user, project.id):
            raise Forbidden("You need PROJECT_RESTRICT on this project.")
        del self.restrictions[project.id]

    # ------------------------------------------------------------------ API keys

    def _check_expiry(self, expires_at: datetime | None) -> datetime | None:
        now = utcnow()
        if expires_at is not None and expires_at <= now:
            raise UnprocessableEntity("expires_at must be in the future.")
        if self.max_key_lifetime is not None:
            limit = now + self.max_key_lifetime
            if expires_at is None:
                return limit
            if expires_at > limit:
                raise UnprocessableEntity(
                    "expires_at is beyond the account's maximum key lifetime."
                )
        return expires_at

    def list_api_keys(
        self,
        caller: Caller,
        *,
        key_type: str | None,
        status: str | None,
        space_id: str | None,
        user_id: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[ApiKey]:
        """GET /v2/api-keys: the caller's user keys by default; service keys per space."""
        wanted_status = status or "ACTIVE"
        kind = key_type or ("SERVICE" if space_id is not None else "USER")
        admin = self.is_account_admin(caller.user)
        if user_id is not None:
            decode_id(user_id, "User", field="user_id")
            if user_id not in self.users:
                raise NotFound(f"User '{user_id}' not found.")
        if kind == "USER":
            if space_id is not None:
                raise BadRequest("space_id applies to service keys only.")
            owner = user_id or caller.user.id
            if owner != caller.user.id and not admin:
                raise Forbidden("Only account admins may list another user's keys.")

            def listed(k: ApiKey) -> bool:
                return k.key_type == "USER" and k.user_id == owner and k.status == wanted_status

        else:
            if space_id is not None:
                space = self.get_space(caller, space_id)
                if not admin and "SERVICE_KEY_READ" not in self.space_permissions(
                    caller.user, space
                ):
                    raise Forbidden("You need SERVICE_KEY_READ in this space.")
                spaces = {space.id}
            else:
                spaces = {
                    s.id
                    for s in self.spaces.values()
                    if admin or "SERVICE_KEY_READ" in self.space_permissions(caller.user, s)
                }

            def listed(k: ApiKey) -> bool:
                return (
                    k.key_type == "SERVICE"
                    and k.status == wanted_status
                    and (user_id is None or k.created_by_user_id == user_id)
                    and bool(
                        {s.id for s in self.key_spaces(k)} & spaces or (admin and space_id is None)
                    )
                )

        return paginate_table(
            PAGINATION_MODEL["api_keys"],
            self.api_keys,
            predicate=listed,
            sort_key=self._sort_key,
            limit=limit,
            cursor=cursor,
            filters={
                "key_type": kind,
                "status": wanted_status,
                "space_id": space_id,
                "user_id": user_id,
            },
        )

    @mutation("createUserApiKey", "POST /v2/api-keys")
    def create_user_key(
        self, caller: Caller, *, name: str, description: str | None, expires_at: datetime | None
    ) -> tuple[ApiKey, str]:
        """POST /v2/api-keys (USER): a key acting as the caller."""
        if not name.strip():
            raise BadRequest("name must not be blank.")
        expiry = self._check_expiry(expires_at)
        return self._store_key(
            name=name,
            description=description,
            key_type="USER",
            user_id=caller.user.id,
            created_by=caller.user.id,
            expires_at=expiry,
        )

    def _scope_level(self, role: dict[str, Any] | None) -> int:
        if role is None:
            return -1
        return SCOPE_LEVEL.get(str(role.get("name")), -1)

    def _caller_space_level(self, user: User, space: Space) -> int:
        if self.is_space_admin(user, space):
            return 3
        m = self.space_membership(user.id, space.id)
        if m is None:
            return -1
        if m.role.get("type") == "CUSTOM":
            perms = self._role_permissions(m.role)
            return 2 if "SERVICE_KEY_CREATE" in perms else 1
        return self._scope_level(m.role)

    @mutation("createServiceApiKey", "POST /v2/api-keys")
    def create_service_key(
        self,
        caller: Caller,
        *,
        name: str,
        description: str | None,
        expires_at: datetime | None,
        account_role: dict[str, Any] | None,
        organizations: list[dict[str, Any]],
    ) -> tuple[ApiKey, str]:
        """POST /v2/api-keys (SERVICE): a bot user with the requested org and space roles."""
        if not name.strip():
            raise BadRequest("name must not be blank.")
        acct = account_role or predefined("MEMBER")
        if acct.get("type") == "CUSTOM":
            raise UnprocessableEntity("Custom account roles are not supported for service keys.")
        if acct.get("name") in {"MEMBER_UI_ONLY", "ANNOTATOR"}:
            raise BadRequest(f"account_role {acct.get('name')} is not allowed for service keys.")
        plan: list[tuple[Organization, dict[str, Any], list[tuple[Space, dict[str, Any]]]]] = []
        for entry in organizations:
            org = self._org(entry["org_id"], field="org_id")
            spaces = []
            for s in entry["spaces"]:
                space = self._space(s["space_id"])
                if space.org_id != org.id:
                    raise BadRequest(
                        f"Space '{space.id}' does not belong to organization '{org.id}'."
                    )
                if "SERVICE_KEY_CREATE" not in self.space_permissions(caller.user, space):
                    raise Forbidden(f"You need SERVICE_KEY_CREATE in space '{space.name}'.")
                spaces.append((space, s.get("role") or predefined("MEMBER")))
            plan.append((org, entry.get("role") or predefined("READ_ONLY"), spaces))
        if (
            ACCOUNT_LEVEL.get(str(acct.get("name")), 0)
            > ACCOUNT_LEVEL[self.account_role(caller.user)]
        ):
            raise UnprocessableEntity("account_role is above your own account role.")
        for org, org_role, spaces in plan:
            if org_role.get("type") == "CUSTOM":
                raise UnprocessableEntity(
                    "Custom organization roles are not supported for service keys."
                )
            if org_role.get("name") == "ANNOTATOR":
                raise UnprocessableEntity("ANNOTATOR is not allowed for service keys.")
            if self._scope_level(org_role) > self._scope_level(
                {"name": self.org_role(caller.user, org.id)}
            ):
                raise UnprocessableEntity(
                    f"The role in organization '{org.name}' is above your own."
                )
            for space, space_role in spaces:
                if space_role.get("type") == "CUSTOM":
                    self._role(str(space_role.get("id")), field="role.id")
                    if not self.is_space_admin(caller.user, space):
                        raise UnprocessableEntity(
                            f"Only space admins may assign custom roles in '{space.name}'."
                        )
                    continue
                if space_role.get("name") == "ANNOTATOR":
                    raise UnprocessableEntity("ANNOTATOR is not allowed for service keys.")
                if self._scope_level(space_role) > self._caller_space_level(caller.user, space):
                    raise UnprocessableEntity(
                        f"The role in space '{space.name}' is above your own."
                    )
        expiry = self._check_expiry(expires_at)
        return self._create_bot_key(
            name=name,
            description=description,
            expires_at=expiry,
            account_role=acct,
            plan=plan,
            created_by=caller.user.id,
        )

    def _create_bot_key(
        self,
        *,
        name: str,
        description: str | None,
        expires_at: datetime | None,
        account_role: dict[str, Any],
        plan: Iterable[tuple[Organization, dict[str, Any], list[tuple[Space, dict[str, Any]]]]],
        created_by: str,
        created_at: datetime | None = None,
        raw: str | None = None,
    ) -> tuple[ApiKey, str]:
        bot_id, n = self.next_id("User")
        when = created_at or utcnow()
        bot = User(
            id=bot_id,
            n=n,
            name=name,
            email=f"service-key-{n}@bots.arize.local",
            created_at=when,
            status="ACTIVE",
            role={"type": "PREDEFINED", "name": account_role["name"]},
            is_developer=True,
            is_bot=True,
        )
        self.users[bot_id] = bot
        for org, org_role, spaces in plan:
            self._upsert_org_member(bot, org, org_role)
            for space, space_role in spaces:
                self._upsert_space_member(bot, space, space_role, when=when)
        return self._store_key(
            name=name,
            description=description,
            key_type="SERVICE",
            user_id=bot.id,
            created_by=created_by,
            expires_at=expires_at,
            created_at=when,
            raw=raw,
        )

    def _readable_key(self, caller: Caller, key_id: str) -> ApiKey:
        decode_id(key_id, "ApiKey", field="api_key_id")
        key = self.api_keys.get(key_id)
        if key is not None:
            if self.is_account_admin(caller.user):
                return key
            if key.key_type == "USER" and key.user_id == caller.user.id:
                return key
            if key.key_type == "SERVICE" and any(
                "SERVICE_KEY_READ" in self.space_permissions(caller.user, s)
                for s in self.key_spaces(key)
            ):
                return key
        raise NotFound(f"API key '{key_id}' not found.")

    def _may_manage_key(self, caller: Caller, key: ApiKey, permission: str) -> bool:
        if self.is_account_admin(caller.user):
            return True
        if key.key_type == "USER":
            return key.created_by_user_id == caller.user.id
        spaces = self.key_spaces(key)
        if spaces and all(self.is_space_admin(caller.user, s) for s in spaces):
            return True
        return key.created_by_user_id == caller.user.id and all(
            permission in self.space_permissions(caller.user, s) for s in spaces
        )

    def _revoke(self, key: ApiKey) -> None:
        if key.status != "REVOKED":
            key.status, key.revoked_at = "REVOKED", utcnow()
        for digest in [d for d, s in self.secrets.items() if s.key_id == key.id]:
            del self.secrets[digest]

    @mutation("refreshApiKey", "POST /v2/api-keys/{api_key_id}/refresh")
    def refresh_api_key(
        self,
        caller: Caller,
        api_key_id: str,
        *,
        expires_at: datetime | None,
        grace_period_seconds: int | None,
        empty_body: bool,
    ) -> tuple[ApiKey, str]:
        """POST /v2/api-keys/{id}/refresh: new secret, same identity; atomic.

        The old secret stays valid until ``min(now + grace, old expiry)``; a grace of 0 (the
        default) invalidates it at once.
        """
        key = self._readable_key(caller, api_key_id)
        if not self._may_manage_key(caller, key, "SERVICE_KEY_CREATE"):
            raise Forbidden("You may not refresh this key.")
        if key.status != "ACTIVE":
            raise BadRequest("A revoked key cannot be refreshed.")
        grace = grace_period_seconds or 0
        if not 0 <= grace <= MAX_GRACE_SECONDS:
            raise UnprocessableEntity(
                f"grace_period_seconds must be between 0 and {MAX_GRACE_SECONDS}."
            )
        now = utcnow()
        old_expiry = key.expires_at
        if old_expiry is not None and old_expiry <= now:
            raise BadRequest("An expired key cannot be refreshed.")
        if expires_at is None:
            if old_expiry is not None and not empty_body:
                raise UnprocessableEntity(
                    "expires_at is required when the key has an expiry (it would become unbounded)."
                )
            new_expiry = old_expiry if old_expiry is not None else self._check_expiry(None)
        else:
            if expires_at <= now:
                raise UnprocessableEntity("expires_at must be in the future.")
            if old_expiry is not None and expires_at > old_expiry:
                raise UnprocessableEntity(
                    "expires_at may not extend the key's expiry; create a new key instead."
                )
            new_expiry = expires_at if old_expiry is not None else self._check_expiry(expires_at)
        old_secrets = [d for d, s in self.secrets.items() if s.key_id == key.id]
        for digest in old_secrets:
            secret = self.secrets[digest]
            if grace == 0:
                del self.secrets[digest]
                continue
            until = now + timedelta(seconds=grace)
            for bound in (secret.valid_until, old_expiry):
                if bound is not None and bound < until:
                    until = bound
            secret.valid_until = until
        raw = new_raw_key()
        self.secrets[hash_key(raw)] = KeySecret(key_id=key.id)
        key.redacted_key = redact(raw)
        key.expires_at = new_expiry
        return key, raw

    @mutation("revokeApiKey", "PUT /v2/api-keys/{api_key_id}/revoke")
    def revoke_api_key(self, caller: Caller, api_key_id: str) -> None:
        """PUT /v2/api-keys/{id}/revoke: idempotent; the key stops working at once."""
        key = self._readable_key(caller, api_key_id)
        if not self._may_manage_key(caller, key, "SERVICE_KEY_REVOKE"):
            raise Forbidden("You may not revoke this key.")
        self._revoke(key)

    # ------------------------------------------------------------------ audit logs

    def list_audit_logs(
        self,
        caller: Caller,
        *,
        start_time: datetime | None,
        end_time: datetime | None,
        user_id: str | None,
        operation_names: list[str] | None,
        operation_type: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[AuditLog]:
        """GET /v2/audit-logs: account admins only, newest first."""
        self._require_account_admin(caller, "read audit logs")
        if user_id is not None:
            decode_id(user_id, "User", field="user_id")
        if operation_names is not None:
            if not 1 <= len(operation_names) <= 20:
                raise BadRequest("operation_name accepts 1 to 20 values.")
            if any(not 1 <= len(n) <= 255 for n in operation_names):
                raise BadRequest("Each operation_name must be 1 to 255 characters.")
        end = end_time or utcnow()
        start = start_time or end - timedelta(days=30)
        if start > end:
            raise BadRequest("start_time must not be after end_time.")
        names = set(operation_names or [])
        items = [
            log
            for log in self.audit_logs.values()
            if start <= log.created_at <= end
            and (user_id is None or log.user_id == user_id)
            and (not names or log.operation_name in names)
            and (operation_type is None or log.operation_type == operation_type)
        ]
        return paginate(
            PAGINATION_MODEL["audit_logs"],
            items,
            sort_key=self._sort_key,
            limit=limit,
            cursor=cursor,
            filters={
                "start_time": start_time,
                "end_time": end_time,
                "user_id": user_id,
                "operation_name": sorted(names),
                "operation_type": operation_type,
            },
        )

    # ------------------------------------------------------------------ seeding helpers

    def seed_predefined_roles(self, when: datetime) -> None:
        """Create the predefined RBAC roles listed by GET /v2/roles."""
        for enum_name, display in PREDEFINED_ROLE_NAMES.items():
            role_id, n = self.next_id("Role")
            self.roles[role_id] = Role(
                id=role_id,
                n=n,
                name=display,
                description=f"Predefined {display} role.",
                permissions=sorted(PREDEFINED_PERMISSIONS[enum_name]),
                is_predefined=True,
                created_at=when,
                updated_at=when,
                predefined_name=enum_name,
            )
