"""API key models: listed keys, freshly created keys and refreshed keys.

Only the create and refresh answers hold the secret, as `key: SecretStr`, so that it never
shows in a repr, a log line or `model_dump(mode="json")`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator

from ._common import ArizeModel, RoleAssignment, coerce_role
from ._enums import ApiKeyStatus, ApiKeyType

__all__ = [
    "ApiKey",
    "CreatedApiKey",
    "CreatedServiceApiKey",
    "CreatedUserApiKey",
    "RefreshedApiKey",
    "ServiceApiKey",
    "ServiceKeyBotUser",
    "ServiceKeyOrgAssignment",
    "ServiceKeySpaceAssignment",
    "UserApiKey",
]


# Unknown fields are dropped, not kept, on key-bearing models so no stray secret reaches a repr.
_SECRET_CONFIG = ConfigDict(extra="ignore", populate_by_name=True)


class ServiceKeySpaceAssignment(ArizeModel):
    """A space a service key is bound to; `role=None` lets the server default to MEMBER."""

    space_id: str
    role: RoleAssignment | None = None

    @field_validator("role", mode="before")
    @classmethod
    def _bare_role(cls, value: Any) -> Any:
        return coerce_role(value)


class ServiceKeyOrgAssignment(ArizeModel):
    """An organization a service key is bound to; `role=None` defaults to READ_ONLY."""

    org_id: str
    role: RoleAssignment | None = None
    spaces: list[ServiceKeySpaceAssignment] = []

    @field_validator("role", mode="before")
    @classmethod
    def _bare_role(cls, value: Any) -> Any:
        return coerce_role(value)


class ServiceKeyBotUser(ArizeModel):
    """The service account a service key authenticates as; bind roles to its `id`.

    An empty `name` means the server could not resolve the bot user: do not trust the rest.
    """

    id: str
    name: str = ""
    account_role: RoleAssignment | None = None
    organizations: list[ServiceKeyOrgAssignment] = []


class _ApiKeyFields(ArizeModel):
    id: str
    name: str
    description: str | None = None
    status: ApiKeyStatus = ApiKeyStatus.ACTIVE
    redacted_key: str = ""
    created_at: datetime
    expires_at: datetime | None = None
    created_by_user_id: str | None = None
    last_used_at: datetime | None = None


class UserApiKey(_ApiKeyFields):
    """A personal key, acting as the user who created it."""

    key_type: Literal["USER"] = "USER"


class ServiceApiKey(_ApiKeyFields):
    """A service key, acting as its own bot user."""

    key_type: Literal["SERVICE"] = "SERVICE"
    bot_user: ServiceKeyBotUser


ApiKey = Annotated[UserApiKey | ServiceApiKey, Field(discriminator="key_type")]
"""A listed API key, told apart by `key_type`."""


class CreatedUserApiKey(UserApiKey):
    """A new user key; `key` is returned once and is never shown again."""

    model_config = _SECRET_CONFIG
    key: SecretStr


class CreatedServiceApiKey(ServiceApiKey):
    """A new service key; `key` is returned once and is never shown again."""

    model_config = _SECRET_CONFIG
    key: SecretStr


CreatedApiKey = Annotated[CreatedUserApiKey | CreatedServiceApiKey, Field(discriminator="key_type")]
"""The answer to a create-key call."""


class RefreshedApiKey(_ApiKeyFields):
    """A key with a new secret and the same id, name and type; it has no `bot_user`."""

    key_type: ApiKeyType
    model_config = _SECRET_CONFIG
    key: SecretStr
