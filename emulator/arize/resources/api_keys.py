"""API keys: ``/v2/api-keys``, bearer authentication, and service keys' bot users.

Raw key values are returned once and never stored: the store keeps their sha256
(:func:`~emulator.arize.store.hash_key`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from emulator.arize.errors import BadRequest, Forbidden, NotFound, Unauthorized, UnprocessableEntity
from emulator.arize.ids import decode_id
from emulator.arize.models import ApiKey, KeySecret, Organization, Space, User, utcnow
from emulator.arize.pagination import Page
from emulator.arize.resources.memberships import Memberships
from emulator.arize.store import Caller, hash_key, mutation, new_raw_key, predefined, redact

__all__ = ["ApiKeys"]

ACCOUNT_LEVEL = {"ADMIN": 3, "MEMBER": 2, "MEMBER_UI_ONLY": 1, "ANNOTATOR": 0}
SCOPE_LEVEL = {"ADMIN": 3, "MEMBER": 2, "READ_ONLY": 1, "ANNOTATOR": 0}
MAX_GRACE_SECONDS = 86400


class ApiKeys(Memberships):
    """User and service keys: create, refresh, revoke, list, and resolve a bearer key."""

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
                space = self.visible_space(caller.user, space_id)
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

        return self._page_table(
            "api_keys",
            self.api_keys,
            predicate=listed,
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
        when = created_at or utcnow()
        bot = self.add_user(
            name=name, email=None, role=account_role["name"], when=when, is_bot=True
        )
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
