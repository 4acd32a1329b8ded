"""SAML identity providers and their role mappings (alpha API: it may change without notice)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._common import ArizeModel, CustomRole, PredefinedRole, RoleAssignment, role_body
from ._enums import AccountRole, SpaceRole

__all__ = [
    "SamlIdentityProvider",
    "SamlIdentityProviderSummary",
    "SamlRoleMapping",
    "SamlRoleMappingRule",
]


class SamlRoleMapping(ArizeModel):
    """One rule of a configuration: a SAML attribute value and the roles it grants.

    Rules come in configuration order (`position`, from 0). For custom space roles and project
    roles the first matching rule per space or project wins; built-in space roles and the
    account role take the most permissive match.
    """

    id: str
    idp_id: str
    position: int
    attribute_name: str
    attribute_value: str
    account_role: AccountRole | None = None
    space_id: str | None = None
    space_role: RoleAssignment | None = None
    project_id: str | None = None
    project_role_id: str | None = None
    created_at: datetime
    updated_at: datetime


class SamlIdentityProviderSummary(ArizeModel):
    """A configuration as lists return it: no metadata and no role mappings."""

    id: str
    name: str
    entity_id: str
    email_domains: list[str]
    default_login_enabled: bool
    sync_user_roles: bool
    is_managed_by_file: bool = Field(
        description="Declared in the deployment's config file: read-only through the API."
    )
    created_at: datetime
    updated_at: datetime


class SamlIdentityProvider(SamlIdentityProviderSummary):
    """A whole configuration: its metadata source, login defaults and ordered role mappings."""

    metadata_url: str | None = None
    metadata_xml: str | None = None
    default_account_role: AccountRole | None = None
    default_organization_id: str | None = None
    default_space_id: str | None = None
    default_space_role: SpaceRole | None = None
    role_mappings: list[SamlRoleMapping] = []


class SamlRoleMappingRule(BaseModel):
    """A role mapping to send (create, or a configuration's initial rules).

    Grant at least one of: an account role, a role on a space (built-in by name or custom by
    id), a custom role on a project.
    """

    model_config = ConfigDict(extra="forbid")

    attribute_name: str = Field(min_length=1, description="SAML assertion attribute, e.g. groups")
    attribute_value: str = Field(min_length=1, description="Value that matches, e.g. a group")
    account_role: AccountRole | None = None
    space_id: str | None = None
    space_role: PredefinedRole | CustomRole | SpaceRole | None = None
    project_id: str | None = None
    project_role_id: str | None = None

    @model_validator(mode="after")
    def _grants_something(self) -> SamlRoleMappingRule:
        if (self.space_id is None) != (self.space_role is None):
            raise ValueError("space_id and space_role go together")
        if (self.project_id is None) != (self.project_role_id is None):
            raise ValueError("project_id and project_role_id go together")
        if self.account_role is None and self.space_id is None and self.project_id is None:
            raise ValueError("a mapping must grant an account role, a space role or a project role")
        return self

    def body(self) -> dict[str, Any]:
        """The request body (omitted fields left out, roles in their wire shape)."""
        out: dict[str, Any] = {
            "attribute_name": self.attribute_name,
            "attribute_value": self.attribute_value,
        }
        if self.account_role is not None:
            out["account_role"] = self.account_role.value
        if self.space_id is not None and self.space_role is not None:
            out["space_id"] = self.space_id
            out["space_role"] = role_body(self.space_role)
        if self.project_id is not None:
            out["project_id"] = self.project_id
            out["project_role_id"] = self.project_role_id
        return out
