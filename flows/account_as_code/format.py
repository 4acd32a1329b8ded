"""The account-as-code format: what one directory of YAML files declares.

Every file may hold any of the top-level keys; lists from several files are joined, and
``ownership`` / ``selector`` may be given once. Everything carries its Arize ``id`` once
exported, so a rename is an update of that id rather than a delete and a create.
"""

from __future__ import annotations

import fnmatch
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from arize_admin import InviteMode, Permission
from core.planning.specs import (
    PREDEFINED_SPACE_ROLES,
    AccountRoleName,
    OrgRoleName,
    ServiceSpaceRoleName,
    SpecModel,
)

__all__ = [
    "KINDS",
    "PREDEFINED_SPACE_ROLES",
    "AccountSpec",
    "BindingDecl",
    "MemberDecl",
    "Ownership",
    "OwnershipModes",
    "ProjectDecl",
    "RoleDecl",
    "Selector",
    "ServiceKeyDecl",
    "SpaceDecl",
    "UserDecl",
]


class Ownership(StrEnum):
    """Who owns a kind: the files alone (authoritative), or the files and people (additive)."""

    ADDITIVE = "additive"
    """Declared things are created and kept as declared; undeclared ones are left alone."""
    AUTHORITATIVE = "authoritative"
    """Undeclared things (within the selector) are removed, through the approval gate."""


class OwnershipModes(SpecModel):
    """One ownership mode per kind; additive unless the file says otherwise."""

    roles: Ownership = Ownership.ADDITIVE
    space_members: Ownership = Ownership.ADDITIVE
    project_bindings: Ownership = Ownership.ADDITIVE
    restrictions: Ownership = Ownership.ADDITIVE
    service_keys: Ownership = Ownership.ADDITIVE


KINDS = tuple(OwnershipModes.model_fields)
"""The kinds that take an ownership mode."""


class Selector(SpecModel):
    """What the files manage: spaces whose names match one of the patterns (shell globs)."""

    spaces: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Glob patterns of space names; a space matching none is unmanaged.",
    )

    def selects(self, space: str) -> bool:
        return any(fnmatch.fnmatchcase(space, pattern) for pattern in self.spaces)


class RoleDecl(SpecModel):
    """A custom role and its complete permission set."""

    name: str = Field(min_length=1, max_length=255)
    id: str | None = Field(default=None, description="Arize id; a different live name renames.")
    description: str = Field(default="", max_length=1000)
    permissions: list[Permission] = Field(min_length=1)


class UserDecl(SpecModel):
    """A person of the account. Present when listed, invited or active; never deleted here."""

    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1, max_length=255)
    account_role: AccountRoleName = "MEMBER"
    org_role: OrgRoleName = Field(
        default="MEMBER",
        description="The role given when the person is first added to an organization.",
    )
    invite_mode: InviteMode = Field(
        default=InviteMode.EMAIL_LINK, description="How the person is invited if not present."
    )
    invited: bool = Field(
        default=False, description="Written by export: the invitation is not accepted yet."
    )


class MemberDecl(SpecModel):
    """One person's role on a space or a project."""

    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    role: str = Field(
        min_length=1, description="ADMIN, MEMBER, READ_ONLY, ANNOTATOR or a custom role."
    )


class ProjectDecl(SpecModel):
    """A project's restriction and its direct role bindings (the project itself is not created)."""

    name: str = Field(min_length=1)
    id: str | None = None
    restricted: bool = False
    bindings: list[MemberDecl] = Field(default_factory=list)


class ServiceKeyDecl(SpecModel):
    """A service key, as metadata only: its secret goes to the key store, never to a file."""

    name: str = Field(min_length=1, max_length=255)
    id: str | None = None
    role: ServiceSpaceRoleName = "MEMBER"
    expires_at: datetime | None = Field(
        default=None, description="When it expires; none: never. Set at creation only."
    )
    key_store: str | None = Field(
        default=None,
        description="The key store entry the secret is written to (the policy's key store "
        "names it from the space and key name); recorded for readers.",
    )
    description: str = ""


class SpaceDecl(SpecModel):
    """A space, its members, its projects' bindings and restrictions, its service keys."""

    name: str = Field(min_length=1, max_length=255)
    id: str | None = None
    organization: str = Field(min_length=1)
    description: str = ""
    members: list[MemberDecl] = Field(default_factory=list)
    projects: list[ProjectDecl] = Field(default_factory=list)
    service_keys: list[ServiceKeyDecl] = Field(default_factory=list)


class BindingDecl(SpecModel):
    """A role binding kept apart from its space (a team's file, say): on the space, or on one
    of its projects when ``project`` is given."""

    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    role: str = Field(min_length=1)
    space: str = Field(min_length=1)
    organization: str | None = Field(
        default=None, description="Needed only when two organizations have a space of that name."
    )
    project: str | None = None


class AccountSpec(SpecModel):
    """The whole declared account: every file of a directory, joined."""

    ownership: OwnershipModes = Field(default_factory=OwnershipModes)
    selector: Selector = Field(default_factory=Selector)
    roles: list[RoleDecl] = Field(default_factory=list)
    users: list[UserDecl] = Field(default_factory=list)
    spaces: list[SpaceDecl] = Field(default_factory=list)
    bindings: list[BindingDecl] = Field(default_factory=list)
