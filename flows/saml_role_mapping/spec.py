"""The saml-role-mapping spec; its field descriptions become the Prefect UI's run form."""

from __future__ import annotations

from pydantic import Field, model_validator

from core.planning.specs import (
    CustomRoleSpec,
    SpecModel,
    require_unique,
)


class GroupRoleMapping(SpecModel):
    """One IdP group and the custom role its members get."""

    group: str = Field(min_length=1, description="IdP (SAML) group name, as the IdP sends it.")
    role: CustomRoleSpec = Field(description="The custom role members of the group get.")


class SamlRoleMappingSpec(SpecModel):
    """Custom roles as code, keyed by IdP group."""

    mappings: list[GroupRoleMapping] = Field(min_length=1, description="Group → role.")
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
        require_unique("mappings", [m.group for m in self.mappings])
        require_unique("mappings[].role.name", [m.role.name for m in self.mappings])
        return self
