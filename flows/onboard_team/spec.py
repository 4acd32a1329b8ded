"""The onboard-team spec; its field descriptions become the Prefect UI's run form."""

from __future__ import annotations

import re

from pydantic import EmailStr, Field, model_validator

from arize_admin import InviteMode
from core.planning.specs import (
    PREDEFINED_SPACE_ROLES,
    AccountRoleName,
    CustomRoleSpec,
    OrgRoleName,
    ServiceSpaceRoleName,
    SpecModel,
    require_unique,
)


class MemberSpec(SpecModel):
    """One person on the team."""

    name: str = Field(min_length=1, max_length=255, description="Display name.")
    email: EmailStr = Field(description="Work email; existing users with it are reused.")
    account_role: AccountRoleName = Field(
        default="MEMBER", description="Account role for new users (ADMIN, MEMBER, ANNOTATOR)."
    )
    org_role: OrgRoleName = Field(default="MEMBER", description="Role in the organization.")
    space_role: str = Field(
        default="MEMBER",
        description="Role in the space: ADMIN, MEMBER, READ_ONLY, ANNOTATOR or a custom role name.",
    )

    @model_validator(mode="after")
    def _annotators_stay_annotators(self) -> MemberSpec:
        # Arize answers 400 otherwise; saying it here names the member and the fix.
        if (self.account_role == "ANNOTATOR") != (self.org_role == "ANNOTATOR"):
            raise ValueError(
                f"{self.email}: account_role ANNOTATOR goes with org_role ANNOTATOR and only "
                "with it; set both to ANNOTATOR or neither"
            )
        return self


class ServiceKeySpec(SpecModel):
    """A CI service key for the team's space; its value goes to the key store only."""

    name: str = Field(min_length=1, max_length=256, description="Key name, e.g. ci-<team>.")
    space_role: ServiceSpaceRoleName = Field(default="MEMBER", description="Role in the space.")
    expires_in_days: int | None = Field(
        default=90, ge=1, le=3650, description="Lifetime in days; empty for no expiry."
    )
    description: str = Field(default="", max_length=1000, description="Shown in Arize.")


class OnboardTeamSpec(SpecModel):
    """A team to onboard: its space, roles, people and CI key."""

    organization: str = Field(min_length=1, description="Existing organization, by exact name.")
    space: str = Field(min_length=1, max_length=255, description="Space; created if missing.")
    space_description: str = Field(default="", max_length=1000, description="For a new space.")
    roles: list[CustomRoleSpec] = Field(
        default_factory=list, description="Custom roles the team needs, created or updated."
    )
    members: list[MemberSpec] = Field(default_factory=list, description="The team's people.")
    invite_mode: InviteMode = Field(
        default=InviteMode.EMAIL_LINK, description="How new users are invited."
    )
    service_key: ServiceKeySpec | None = Field(default=None, description="Optional CI key.")

    @model_validator(mode="after")
    def _unique_names(self) -> OnboardTeamSpec:
        require_unique("members", [m.email.lower() for m in self.members])
        require_unique("roles", [r.name for r in self.roles])
        return self

    @model_validator(mode="after")
    def _space_roles_exist(self) -> OnboardTeamSpec:
        # A shouted name that is neither predefined nor defined here is a typo ("GOD",
        # "READONLY"): say so when the spec is read. Other custom names are checked by the plan.
        defined = {r.name for r in self.roles}
        for index, member in enumerate(self.members):
            role = member.space_role
            if role in PREDEFINED_SPACE_ROLES or role in defined:
                continue
            if re.fullmatch(r"[A-Z][A-Z_]*", role):
                raise ValueError(
                    f"members[{index}].space_role: {role!r} is not a space role; use "
                    f"{', '.join(PREDEFINED_SPACE_ROLES)} or a custom role by its exact name"
                )
        return self
