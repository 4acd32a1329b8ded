"""Users: ``/v2/users``, invitations, and the cascade of deleting a user.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from emulator.arize.errors import BadRequest, Conflict, Forbidden, NotFound, UnprocessableEntity
from emulator.arize.ids import decode_id
from emulator.arize.models import User, utcnow
from emulator.arize.pagination import Page
from emulator.arize.resources.api_keys import ApiKeys
from emulator.arize.store import Caller, mutation

__all__ = ["Users"]

USER_STATUSES = ("ACTIVE", "INVITED", "EXPIRED")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email_key(user: User) -> str:
    return user.email.lower()


class Users(ApiKeys):
    """User operations; deleting a user drops its memberships and bindings and revokes its keys."""

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
        return self._page_table(
            "users",
            self.users,
            predicate=lambda u: (
                not u.is_bot
                and u.status != "DELETED"
                and self.user_status(u) in wanted
                and needle in u.email.lower()
            ),
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
            user = self.add_user(
                name=name, email=email, role=role["name"], status="INVITED", when=now
            )
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
