"""User models."""

from __future__ import annotations

from datetime import datetime

from pydantic import SecretStr

from ._common import ArizeModel, RoleAssignment, SecretBearingModel
from ._enums import InviteMode, UserStatus

__all__ = ["CreatedUser", "User"]


class User(ArizeModel):
    """A user of the account."""

    id: str
    name: str
    email: str
    created_at: datetime
    status: UserStatus
    role: RoleAssignment
    is_developer: bool = False


class CreatedUser(SecretBearingModel):
    """The answer to a create-user call.

    `newly_created` is False when the email already had a pending invitation (HTTP 200): the
    existing invitation is returned as-is and `temporary_password` is None.
    """

    id: str
    name: str
    email: str
    created_at: datetime
    status: UserStatus
    role: RoleAssignment
    is_developer: bool = False
    invite_mode: InviteMode
    temporary_password: SecretStr | None = None
    newly_created: bool = True
