"""Who may call: the emulated account's authorization model, evaluated over the store.

- account role ``ADMIN`` may do everything; ``MEMBER`` (and ``MEMBER_UI_ONLY``) may read the
  account (users, roles) and create users; ``ANNOTATOR`` may read only what it is given;
- an org ``ADMIN`` is admin of every space of the org; org ``MEMBER``/``READ_ONLY`` members
  see the org's public spaces read-only;
- a space membership grants its predefined role's permissions (see
  :mod:`emulator.arize.permissions`) or its custom role's; SPACE role bindings add their role's
  permissions on the space, PROJECT bindings on the project;
- a restricted project ignores everything inherited from the space except space/org/account
  admin: otherwise only PROJECT role bindings on it grant access;
- a service key acts as its bot user, with the account, org and space roles it was created with.
"""

from __future__ import annotations

from typing import Any

from emulator.arize.errors import Forbidden, NotFound
from emulator.arize.models import Organization, Project, Space, User
from emulator.arize.permissions import (
    ALL_PERMISSIONS,
    ORG_INHERITED_PERMISSIONS,
    PREDEFINED_PERMISSIONS,
)
from emulator.arize.store import Caller, Store

__all__ = ["Authorization"]


class Authorization(Store):
    """Permission and visibility checks every resource asks before it reads or writes."""

    @staticmethod
    def account_role(user: User) -> str:
        """Return the user's predefined account role name."""
        return str(user.role.get("name") or "MEMBER")

    def is_account_admin(self, user: User) -> bool:
        """Account ADMIN: everything."""
        return self.account_role(user) == "ADMIN"

    def is_account_member(self, user: User) -> bool:
        """ADMIN or MEMBER at account level (MEMBER_UI_ONLY counts as a member)."""
        return self.account_role(user) in {"ADMIN", "MEMBER", "MEMBER_UI_ONLY"}

    def org_role(self, user: User, org_id: str) -> str | None:
        """Effective predefined org role (account admins are ADMIN everywhere)."""
        if self.is_account_admin(user):
            return "ADMIN"
        m = self.org_membership(user.id, org_id)
        return str(m.role.get("name")) if m else None

    def is_org_admin(self, user: User, org_id: str) -> bool:
        """Account admin or org ADMIN."""
        return self.org_role(user, org_id) == "ADMIN"

    def is_space_admin(self, user: User, space: Space) -> bool:
        """Org admin, or a PREDEFINED ADMIN membership in the space."""
        if self.is_org_admin(user, space.org_id):
            return True
        m = self.space_membership(user.id, space.id)
        return bool(m and m.role.get("type") == "PREDEFINED" and m.role.get("name") == "ADMIN")

    def _role_permissions(self, assignment: dict[str, Any]) -> frozenset[str]:
        if assignment.get("type") == "PREDEFINED":
            return PREDEFINED_PERMISSIONS.get(str(assignment.get("name")), frozenset())
        role = self.roles.get(str(assignment.get("id")))
        return frozenset(role.permissions) if role and not role.deleted else frozenset()

    def _binding_permissions(self, user: User, resource_id: str) -> set[str]:
        perms: set[str] = set()
        for b in self._bindings_of(user.id):
            if b.resource_id == resource_id:
                role = self.roles.get(b.role_id)
                if role and not role.deleted:
                    perms |= set(role.permissions)
        return perms

    def space_permissions(self, user: User, space: Space) -> set[str]:
        """Permissions of ``user`` on ``space`` (membership, org membership, SPACE bindings)."""
        if self.is_org_admin(user, space.org_id):
            return set(ALL_PERMISSIONS)
        perms: set[str] = set()
        m = self.space_membership(user.id, space.id)
        if m is not None:
            perms |= self._role_permissions(m.role)
        org_role = self.org_role(user, space.org_id)
        if not space.is_private and org_role in {"MEMBER", "READ_ONLY"}:
            perms |= ORG_INHERITED_PERMISSIONS
        perms |= self._binding_permissions(user, space.id)
        return perms

    def can_see_space(self, user: User, space: Space) -> bool:
        """Private spaces: members and admins only; public ones: the org's members too."""
        if self.is_org_admin(user, space.org_id) or self.space_membership(user.id, space.id):
            return True
        if not space.is_private and self.org_membership(user.id, space.org_id):
            return True
        return any(
            b.resource_id == space.id
            or (
                b.resource_id in self.projects
                and self.projects[b.resource_id].space_id == space.id
            )
            for b in self._bindings_of(user.id)
        )

    def has_project_binding(self, user: User, project: Project) -> bool:
        """Whether the user holds a PROJECT role binding on the project."""
        return any(b.resource_id == project.id for b in self._bindings_of(user.id))

    def project_permissions(self, user: User, project: Project) -> set[str]:
        """Permissions on a project; a restricted project inherits nothing but admin."""
        space = self.spaces[project.space_id]
        if self.is_org_admin(user, space.org_id):
            # Everything already; skip the binding lookup (admins list every binding).
            return set(ALL_PERMISSIONS)
        if project.id in self.restrictions:
            if self.is_space_admin(user, space):
                return set(ALL_PERMISSIONS)
            return self._binding_permissions(user, project.id)
        return self.space_permissions(user, space) | self._binding_permissions(user, project.id)

    def can_see_project(self, user: User, project: Project) -> bool:
        """Restricted: admins and PROJECT bindings only; otherwise whoever sees the space."""
        space = self.spaces[project.space_id]
        if self.has_project_binding(user, project):
            return True
        if project.id in self.restrictions:
            return self.is_space_admin(user, space)
        return self.can_see_space(user, space) and bool(
            self.space_permissions(user, space) & {"PROJECT_READ", "SPACE_READ"}
        )

    def resource_permissions(self, user: User, resource_type: str, resource_id: str) -> set[str]:
        """Permissions on a SPACE or PROJECT (empty if it does not exist)."""
        if resource_type == "SPACE":
            space = self.spaces.get(resource_id)
            return self.space_permissions(user, space) if space else set()
        project = self.projects.get(resource_id)
        return self.project_permissions(user, project) if project else set()

    def _require_account_member(self, caller: Caller, action: str) -> None:
        if not self.is_account_member(caller.user):
            raise Forbidden(f"Your account role does not allow you to {action}.")

    def _require_account_admin(self, caller: Caller, action: str) -> None:
        if not self.is_account_admin(caller.user):
            raise Forbidden(f"Only account admins may {action}.")

    def visible_org(self, user: User, org: Organization) -> bool:
        """Account admins see every org; others the orgs they belong to."""
        return self.is_account_admin(user) or self.org_membership(user.id, org.id) is not None

    def visible_space(self, user: User, space_id: str) -> Space:
        """The space, if ``user`` can see it; 404 (never 403) otherwise."""
        space = self._space(space_id)
        if not self.can_see_space(user, space):
            raise NotFound(f"Space '{space_id}' not found.")
        return space
