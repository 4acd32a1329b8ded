"""Runbook specs: one pydantic model per runbook; field descriptions become the Prefect UI form.

Shape errors (a malformed email, an unknown permission, an annotator given an admin org role)
fail here, before planning; names that must exist in Arize are checked by the plan, which raises
``SpecError`` naming the field. Either way nothing has changed yet.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from arize_admin import InviteMode, Permission

PREDEFINED_SPACE_ROLES = ("ADMIN", "MEMBER", "READ_ONLY", "ANNOTATOR")

AccountRoleName = Literal["ADMIN", "MEMBER", "ANNOTATOR"]
OrgRoleName = Literal["ADMIN", "MEMBER", "READ_ONLY", "ANNOTATOR"]
ServiceSpaceRoleName = Literal["ADMIN", "MEMBER", "READ_ONLY"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomRoleSpec(_Spec):
    """A custom role as code: its exact permission set."""

    name: str = Field(min_length=1, max_length=255, description="Role name, unique in the account.")
    permissions: list[Permission] = Field(
        min_length=1, description="The complete permission set; anything else is removed."
    )
    description: str = Field(default="", max_length=1000, description="Shown in Arize.")


class MemberSpec(_Spec):
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


class ServiceKeySpec(_Spec):
    """A CI service key for the team's space; its value goes to the key store only."""

    name: str = Field(min_length=1, max_length=256, description="Key name, e.g. ci-<team>.")
    space_role: ServiceSpaceRoleName = Field(default="MEMBER", description="Role in the space.")
    expires_in_days: int | None = Field(
        default=90, ge=1, le=3650, description="Lifetime in days; empty for no expiry."
    )
    description: str = Field(default="", max_length=1000, description="Shown in Arize.")


class OnboardTeamSpec(_Spec):
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
        _require_unique("members", [m.email.lower() for m in self.members])
        _require_unique("roles", [r.name for r in self.roles])
        return self


class GroupRoleMapping(_Spec):
    """One IdP group and the custom role its members get."""

    group: str = Field(min_length=1, description="IdP (SAML) group name, as the IdP sends it.")
    role: CustomRoleSpec = Field(description="The custom role members of the group get.")


class SamlRoleMappingSpec(_Spec):
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
        _require_unique("mappings", [m.group for m in self.mappings])
        _require_unique("mappings[].role.name", [m.role.name for m in self.mappings])
        return self


class AllowedUser(_Spec):
    """Someone who keeps access to a restricted project."""

    email: EmailStr = Field(description="The user's email.")
    role: str = Field(min_length=1, description="Custom role bound on the project, by name.")


class RestrictProjectSpec(_Spec):
    """A project to restrict to named people."""

    space: str = Field(min_length=1, description="The project's space, by exact name.")
    project: str = Field(min_length=1, description="Project name (in that space) or project id.")
    allowed: list[AllowedUser] = Field(min_length=1, description="Who keeps access, and how.")
    organization: str | None = Field(
        default=None, description="Organization, when the space name is not unique."
    )

    @model_validator(mode="after")
    def _unique_people(self) -> RestrictProjectSpec:
        _require_unique("allowed", [a.email.lower() for a in self.allowed])
        return self


class OffboardUserSpec(_Spec):
    """A leaver to offboard."""

    email: EmailStr | None = Field(default=None, description="The leaver's email.")
    user_id: str | None = Field(default=None, description="Or their Arize user id.")
    reason: str = Field(min_length=1, max_length=500, description="Why, for the audit record.")
    ticket: str | None = Field(default=None, description="HR or ticket reference.")
    revoke_service_keys: bool = Field(
        default=False,
        description="Also revoke service keys they created (default: reported, kept).",
    )
    audit_dir: str | None = Field(
        default=None,
        description="Directory for the JSON audit record; none: the Prefect artifact only.",
    )

    @model_validator(mode="after")
    def _who(self) -> OffboardUserSpec:
        if not (self.email or self.user_id):
            raise ValueError("give email or user_id: who is leaving?")
        return self


class RotateServiceKeysSpec(_Spec):
    """Which service keys rotate, and when."""

    name_pattern: str = Field(default="*", description="Glob on key names, e.g. ci-*.")
    space: str | None = Field(default=None, description="Only keys of this space (by name).")
    max_age_days: int = Field(
        default=90, ge=1, description="Rotate keys whose secret is older than this."
    )
    expiring_within_days: int = Field(
        default=14, ge=0, description="Also rotate keys that expire within this many days."
    )
    grace_period_seconds: int = Field(
        default=3600,
        ge=60,
        le=86400,
        description="How long the old secret keeps working, so consumers never hold a dead key.",
    )
    revoke_expired: bool = Field(
        default=False,
        description="Revoke keys already past their expiry (destructive, needs approval).",
    )
    replace_expiring: bool = Field(
        default=True,
        description=(
            "Replace keys that expire within expiring_within_days with a new key of the same "
            "name, roles and bindings (a refresh cannot extend an expiry); off: report them."
        ),
    )
    replacement_lifetime_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Lifetime of a replacement key; empty: the lifetime of the key it replaces.",
    )


def _require_unique(field: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{field}: {value!r} appears twice; list each once")
        seen.add(value)
