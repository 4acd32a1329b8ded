"""Request bodies as pydantic models: the schema half of validation.

A body that breaks the schema (missing field, wrong type, unknown enum value, unknown field,
length limits) is answered 422 by the error handler; rules that depend on state (409, 403,
annotator rules, expiry) are the state layer's. Write bodies are strict
(``additionalProperties: false`` in the spec), so unknown fields such as ``id`` or
``created_at`` are rejected.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "AddOrganizationUserRequest",
    "AddSpaceUserRequest",
    "CreateApiKeyRequest",
    "CreateOrganizationRequest",
    "CreateProjectRequest",
    "CreateResourceRestrictionRequest",
    "CreateRoleBindingRequest",
    "CreateRoleRequest",
    "CreateSamlIdentityProviderRequest",
    "CreateSamlRoleMappingRequest",
    "CreateServiceApiKeyRequest",
    "CreateSpaceRequest",
    "CreateUserApiKeyRequest",
    "CreateUserRequest",
    "RefreshApiKeyRequest",
    "UpdateOrganizationRequest",
    "UpdateProjectRequest",
    "UpdateRoleBindingRequest",
    "UpdateRoleRequest",
    "UpdateSamlIdentityProviderRequest",
    "UpdateSamlRoleMappingRequest",
    "UpdateSpaceRequest",
    "UpdateUserRequest",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def changes(self) -> dict[str, Any]:
        """The fields the client sent (explicit nulls included), as plain values."""
        return {name: _plain(getattr(self, name)) for name in self.model_fields_set}


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    return value


def _utc(value: datetime | None) -> datetime | None:
    """Naive datetimes are UTC (the SDK sends naive ``isoformat()`` values)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class _Predefined(_Strict):
    type: Literal["PREDEFINED"]


class PredefinedUserRole(_Predefined):
    """``{"type": "PREDEFINED", "name": <UserRole>}``."""

    name: Literal["ADMIN", "MEMBER", "MEMBER_UI_ONLY", "ANNOTATOR"]


class PredefinedScopeRole(_Predefined):
    """``{"type": "PREDEFINED", "name": <OrganizationRole|UserSpaceRole>}``."""

    name: Literal["ADMIN", "MEMBER", "READ_ONLY", "ANNOTATOR"]


class CustomRoleRef(_Strict):
    """``{"type": "CUSTOM", "id": <role id>}``; a response-only ``name`` is accepted, ignored."""

    type: Literal["CUSTOM"]
    id: str = Field(min_length=1)
    name: str | None = None


UserRoleIn = Annotated[PredefinedUserRole | CustomRoleRef, Field(discriminator="type")]
ScopeRoleIn = Annotated[PredefinedScopeRole | CustomRoleRef, Field(discriminator="type")]


def role_dict(role: BaseModel | None) -> dict[str, Any] | None:
    """A role assignment model as the stored dict (None stays None)."""
    if role is None:
        return None
    return role.model_dump(exclude_none=True, exclude={"name"} if role.type == "CUSTOM" else set())


class CreateUserRequest(_Strict):
    """Body of POST /v2/users."""

    name: str = Field(min_length=1, max_length=255)
    email: str = Field(min_length=3, max_length=255)
    role: UserRoleIn
    invite_mode: Literal["NONE", "EMAIL_LINK", "TEMPORARY_PASSWORD"]


class UpdateUserRequest(_Strict):
    """Body of PATCH /v2/users/{user_id}."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    is_developer: bool | None = None


class CreateOrganizationRequest(_Strict):
    """Body of POST /v2/organizations."""

    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=1000)


class UpdateOrganizationRequest(_Strict):
    """Body of PATCH /v2/organizations/{org_id} (``description`` nullable)."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=1000)


class AddOrganizationUserRequest(_Strict):
    """Body of POST /v2/organizations/{org_id}/users."""

    user_id: str
    role: ScopeRoleIn


class CreateSpaceRequest(_Strict):
    """Body of POST /v2/spaces."""

    name: str = Field(min_length=1, max_length=255)
    organization_id: str
    description: str | None = Field(default=None, max_length=1000)
    is_private: bool | None = None


class LlmIntegration(_Strict):
    """``default_llm_integration``."""

    integration_id: str
    model_name: str


class AgentRuntime(_Strict):
    """``default_agent_runtime``."""

    integration_id: str


class UpdateSpaceRequest(_Strict):
    """Body of PATCH /v2/spaces/{space_id}."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=1000)
    is_private: bool | None = None
    default_llm_integration: LlmIntegration | None = None
    ml_models_enabled: bool | None = None
    gradient_start_color: str | None = None
    gradient_end_color: str | None = None
    default_agent_runtime: AgentRuntime | None = None


class AddSpaceUserRequest(_Strict):
    """Body of POST /v2/spaces/{space_id}/users."""

    user_id: str
    role: ScopeRoleIn


class CreateProjectRequest(_Strict):
    """Body of POST /v2/projects."""

    name: str = Field(min_length=1, max_length=255)
    space_id: str


class UpdateProjectRequest(_Strict):
    """Body of PATCH /v2/projects/{project_id}."""

    name: str = Field(min_length=1, max_length=255)


class CreateRoleRequest(_Strict):
    """Body of POST /v2/roles."""

    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=1000)
    permissions: list[str] = Field(min_length=1)


class UpdateRoleRequest(_Strict):
    """Body of PATCH /v2/roles/{role_id}."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=1000)
    permissions: list[str] | None = Field(default=None, min_length=1)


class CreateRoleBindingRequest(_Strict):
    """Body of POST /v2/role-bindings."""

    role_id: str
    user_id: str
    resource_type: Literal["SPACE", "PROJECT"]
    resource_id: str


class UpdateRoleBindingRequest(_Strict):
    """Body of PATCH /v2/role-bindings/{binding_id}."""

    role_id: str


class CreateResourceRestrictionRequest(_Strict):
    """Body of POST /v2/resource-restrictions."""

    resource_id: str


class _KeyBase(_Strict):
    name: str = Field(min_length=1, max_length=256)
    description: str | None = Field(default=None, max_length=1000)
    expires_at: datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        return _utc(value)


class CreateUserApiKeyRequest(_KeyBase):
    """Body of POST /v2/api-keys for a USER key."""

    key_type: Literal["USER"]


class ServiceKeySpaceAssignment(_Strict):
    """One space of a service key."""

    space_id: str
    role: ScopeRoleIn | None = None


class ServiceKeyOrgAssignment(_Strict):
    """One organization of a service key."""

    org_id: str
    role: ScopeRoleIn | None = None
    spaces: list[ServiceKeySpaceAssignment] = Field(min_length=1, max_length=100)


class CreateServiceApiKeyRequest(_KeyBase):
    """Body of POST /v2/api-keys for a SERVICE key."""

    key_type: Literal["SERVICE"]
    account_role: UserRoleIn | None = None
    organizations: list[ServiceKeyOrgAssignment] = Field(min_length=1, max_length=100)


CreateApiKeyRequest = Annotated[
    CreateUserApiKeyRequest | CreateServiceApiKeyRequest, Field(discriminator="key_type")
]


class RefreshApiKeyRequest(_Strict):
    """Body of POST /v2/api-keys/{id}/refresh (optional; ``{}`` inherits the expiry)."""

    expires_at: datetime | None = None
    grace_period_seconds: int | None = Field(default=None, ge=0, le=86400)

    @field_validator("expires_at")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        return _utc(value)


# ---------------------------------------------------------------- SAML (alpha)

SamlAccountRole = Literal["ADMIN", "MEMBER", "ANNOTATOR"]
SamlSpaceRoleName = Literal["ADMIN", "MEMBER", "READ_ONLY", "ANNOTATOR"]


class _SamlMappingFields(_Strict):
    account_role: SamlAccountRole | None = None
    space_id: str | None = Field(default=None, min_length=1)
    space_role: ScopeRoleIn | None = None
    project_id: str | None = Field(default=None, min_length=1)
    project_role_id: str | None = Field(default=None, min_length=1)


class CreateSamlRoleMappingRequest(_SamlMappingFields):
    """Body of POST /v2/saml-identity-providers/{idp_id}/role-mappings (one rule)."""

    attribute_name: str = Field(min_length=1, max_length=255)
    attribute_value: str = Field(min_length=1, max_length=1024)

    def values(self) -> dict[str, Any]:
        """The rule as the state layer takes it (roles as stored dicts)."""
        out = self.model_dump(exclude={"space_role"})
        out["space_role"] = role_dict(self.space_role)
        return out


class UpdateSamlRoleMappingRequest(_SamlMappingFields):
    """Body of PATCH .../role-mappings/{mapping_id}: only the supplied fields change."""

    attribute_name: str | None = Field(default=None, min_length=1, max_length=255)
    attribute_value: str | None = Field(default=None, min_length=1, max_length=1024)

    def changes(self) -> dict[str, Any]:
        """The supplied fields, with ``space_role`` as a stored dict."""
        out = super().changes()
        if "space_role" in out:
            out["space_role"] = role_dict(self.space_role)
        return out


class _SamlIdpFields(_Strict):
    metadata_url: str | None = Field(default=None, min_length=1, max_length=2048)
    metadata_xml: str | None = Field(default=None, min_length=1, max_length=1_000_000)
    default_account_role: SamlAccountRole | None = None
    default_organization_id: str | None = Field(default=None, min_length=1)
    default_space_id: str | None = Field(default=None, min_length=1)
    default_space_role: SamlSpaceRoleName | None = None


class CreateSamlIdentityProviderRequest(_SamlIdpFields):
    """Body of POST /v2/saml-identity-providers (domain verification flags are refused)."""

    name: str = Field(min_length=1, max_length=255)
    email_domains: list[str] = Field(min_length=1, max_length=100)
    default_login_enabled: bool = False
    sync_user_roles: bool = False
    role_mappings: list[CreateSamlRoleMappingRequest] = Field(default=[], max_length=500)

    def defaults(self) -> dict[str, Any]:
        """The four default-login fields as sent."""
        return {
            "default_account_role": self.default_account_role,
            "default_organization_id": self.default_organization_id,
            "default_space_id": self.default_space_id,
            "default_space_role": self.default_space_role,
        }


class UpdateSamlIdentityProviderRequest(_SamlIdpFields):
    """Body of PATCH /v2/saml-identity-providers/{idp_id}: only the supplied fields change."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    email_domains: list[str] | None = Field(default=None, min_length=1, max_length=100)
    default_login_enabled: bool | None = None
    sync_user_roles: bool | None = None
