"""`client.users`: account users and their invitations."""

from __future__ import annotations

from collections.abc import Sequence

from .._pagination import AsyncPaginator
from .._resource import AsyncAPIResource, compact, path_id
from ..types import AccountRole, CreatedUser, InviteMode, RoleAssignment, User, UserStatus
from ..types._common import role_body

__all__ = ["Users"]


class Users(AsyncAPIResource):
    """Account users: list, invite, update, delete (block), resend invites, reset passwords."""

    def list(
        self,
        *,
        email: str | None = None,
        status: UserStatus | Sequence[UserStatus] | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[User]:
        """List users, oldest first.

        Args:
            email: case-insensitive substring of the email.
            status: one status or several; all three when omitted.
            limit: page size, 1..100 (server default 50).
        """
        return self._list(
            "/v2/users",
            item_key="users",
            parse=User.model_validate,
            email=email,
            status=[status] if isinstance(status, str) else status,
            limit=limit,
        )

    async def get(self, user_id: str) -> User:
        """Get one user by id."""
        return User.model_validate(await self._get(f"/v2/users/{path_id(user_id)}"))

    async def create(
        self,
        *,
        name: str,
        email: str,
        role: AccountRole | str | RoleAssignment,
        invite_mode: InviteMode | str,
    ) -> CreatedUser:
        """Invite or add a user; the email is the idempotency key.

        Args:
            name: display name.
            email: email address.
            role: predefined account role (`ADMIN`, `MEMBER` or `ANNOTATOR`).
            invite_mode: `NONE` (SSO, active at once), `EMAIL_LINK` or `TEMPORARY_PASSWORD`.

        Returns:
            The user; `newly_created` is False when a pending invitation was returned as-is.

        Raises:
            ConflictError: the email belongs to an active or deleted user.
        """
        response = await self._client._request(
            "POST",
            "/v2/users",
            body=compact(name=name, email=email, role=role_body(role), invite_mode=invite_mode),
            expected=(201, 200),
        )
        data = response.json()
        if response.status_code == 200:
            # An existing invitation comes back as a plain User, not resent.
            data = {**data, "invite_mode": InviteMode(invite_mode), "temporary_password": None}
        return CreatedUser.model_validate({**data, "newly_created": response.status_code == 201})

    async def update(
        self, user_id: str, *, name: str | None = None, is_developer: bool | None = None
    ) -> User:
        """Rename a user or change developer access (account admins only)."""
        if name is None and is_developer is None:
            raise ValueError("give name or is_developer")
        body = compact(name=name, is_developer=is_developer)
        return User.model_validate(await self._patch(f"/v2/users/{path_id(user_id)}", body=body))

    async def delete(self, user_id: str) -> None:
        """Block a user for good; memberships, user keys and role bindings go with it."""
        await self._delete(f"/v2/users/{path_id(user_id)}")

    async def resend_invitation(self, user_id: str) -> None:
        """Send a fresh invitation to an `INVITED` user."""
        await self._post(f"/v2/users/{path_id(user_id)}/resend-invitation", expected=(204,))

    async def reset_password(self, user_id: str) -> None:
        """Email a password-reset link (valid 30 minutes)."""
        await self._post(f"/v2/users/{path_id(user_id)}/reset-password", expected=(204,))

    async def find_by_email(self, email: str) -> User | None:
        """The user whose email equals `email` ignoring case, or None (pages through all)."""
        wanted = email.casefold()
        async for user in self.list(email=email, limit=100):
            if user.email.casefold() == wanted:
                return user
        return None
