"""The saml-role-mapping spec; its field descriptions become the Prefect UI's run form."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from core.planning.specs import (
    PREDEFINED_SPACE_ROLES,
    CustomRoleSpec,
    SpecModel,
    require_unique,
)


class GroupRoleMapping(SpecModel):
    """One IdP group and the custom role its members get."""

    group: str = Field(min_length=1, description="IdP (SAML) group name, as the IdP sends it.")
    role: CustomRoleSpec = Field(description="The custom role members of the group get.")


class NewIdentityProvider(SpecModel):
    """How to create the SAML configuration when none of that name exists."""

    metadata_url: str = Field(min_length=1, description="The IdP's SAML metadata URL.")
    email_domains: list[str] = Field(min_length=1, description="Domains whose users it signs in.")
    sync_user_roles: bool = Field(
        default=True,
        description="Re-apply the rules to a user's stored roles at each SAML login.",
    )


class IdentityProviderSpec(SpecModel):
    """Which SAML configuration in Arize holds the rules: by id, name or email domain."""

    id: str | None = Field(default=None, description="The configuration's id.")
    name: str | None = Field(default=None, description="The configuration's name.")
    email_domain: str | None = Field(default=None, description="A domain it claims.")
    attribute_name: str = Field(
        default="groups",
        min_length=1,
        description="The SAML assertion attribute carrying the groups; rules on other "
        "attributes are left alone.",
    )
    create: NewIdentityProvider | None = Field(
        default=None, description="Create it (by name) with the rules when it does not exist."
    )

    @model_validator(mode="after")
    def _one_way_to_find_it(self) -> IdentityProviderSpec:
        given = [k for k in ("id", "name", "email_domain") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of id, name or email_domain")
        if self.create is not None and self.name is None:
            raise ValueError("create needs the configuration's name")
        return self


class SamlRuleSpec(SpecModel):
    """One rule: members of ``group`` get these roles. Rules are ordered; first match wins."""

    group: str = Field(min_length=1, description="IdP group, as the assertion carries it.")
    account_role: Literal["MEMBER", "ANNOTATOR"] | None = Field(
        default=None,
        description="Account role (the admin mapping is Arize's own and never managed here).",
    )
    space: str | None = Field(default=None, description="Space name (of space_role, project).")
    space_role: str | None = Field(
        default=None,
        description=f"{', '.join(PREDEFINED_SPACE_ROLES)}, or a custom role's name.",
    )
    project: str | None = Field(default=None, description="Project name, in ``space``.")
    project_role: str | None = Field(default=None, description="A custom role's name.")

    @model_validator(mode="after")
    def _grants_something(self) -> SamlRuleSpec:
        if self.space_role and not self.space:
            raise ValueError("space_role needs space")
        if self.project and not self.project_role:
            raise ValueError("project needs project_role")
        if self.project_role and not (self.project and self.space):
            raise ValueError("project_role needs project and its space")
        if self.space and not (self.space_role or self.project):
            raise ValueError("space needs space_role or project")
        if not (self.account_role or self.space_role or self.project_role):
            raise ValueError("a rule grants account_role, space_role or project_role")
        return self


class SamlRoleMappingSpec(SpecModel):
    """Custom roles as code, keyed by IdP group; optionally the ordered SAML rules in Arize."""

    mappings: list[GroupRoleMapping] = Field(
        default_factory=list, description="Group → custom role, created or updated first."
    )
    identity_provider: IdentityProviderSpec | None = Field(
        default=None,
        description="The SAML configuration whose role mappings `rules` manage; none: only "
        "publish the group → role-id mapping.",
    )
    rules: list[SamlRuleSpec] = Field(
        default_factory=list,
        description="Ordered group → role rules (first match wins for custom space roles and "
        "project roles).",
    )
    revoke_excess: bool = Field(
        default=False,
        description="Remove role bindings beyond what the rules give people in idp_export "
        "(destructive, needs approval); off: only listed in the plan.",
    )
    idp_export: str | None = Field(
        default=None,
        description="CSV or JSON export of people and their IdP groups, for excess bindings.",
    )
    prune: bool = Field(
        default=False,
        description="Delete custom roles that no mapping names (destructive, needs approval).",
    )
    output_dir: str | None = Field(
        default=None,
        description="Directory for group-role-mapping.json/.yaml for the IdP; none: artifact only.",
    )

    @model_validator(mode="after")
    def _unique_groups(self) -> SamlRoleMappingSpec:
        if not (self.mappings or self.rules):
            raise ValueError("give mappings (custom roles) or rules, or both")
        if self.rules and self.identity_provider is None:
            raise ValueError("rules need identity_provider: the configuration they go into")
        if self.revoke_excess and not self.idp_export:
            raise ValueError("revoke_excess needs idp_export: whose groups to check")
        if self.idp_export and not self.rules:
            raise ValueError("idp_export is read against rules; give rules")
        require_unique("mappings", [m.group for m in self.mappings])
        require_unique("mappings[].role.name", [m.role.name for m in self.mappings])
        return self
