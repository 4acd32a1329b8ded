"""Roles: ``/v2/roles``, custom roles beside the seeded predefined ones.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from emulator.arize.authorization import Authorization
from emulator.arize.errors import BadRequest, Conflict, Forbidden, UnprocessableEntity
from emulator.arize.models import Role, utcnow
from emulator.arize.pagination import Page
from emulator.arize.permissions import (
    ALL_PERMISSIONS,
    PREDEFINED_PERMISSIONS,
    PREDEFINED_ROLE_NAMES,
)
from emulator.arize.store import Caller, mutation

__all__ = ["Roles"]

ROLE_NAME_RE = re.compile(r"^[a-zA-Z0-9 \-_.,()\[\]'\"/:\\&@#$%!?+=]+$")


class Roles(Authorization):
    """Role operations; a role still bound to someone cannot be deleted."""

    def _require_role_read(self, caller: Caller) -> None:
        if not self.is_account_member(caller.user):
            raise Forbidden("You need ROLE_READ to read roles.")

    def list_roles(
        self, caller: Caller, *, is_predefined: bool | None, limit: int | None, cursor: str | None
    ) -> Page[Role]:
        """GET /v2/roles: predefined and custom roles of the account."""
        self._require_role_read(caller)
        items = [
            r
            for r in self.roles.values()
            if not r.deleted and (is_predefined is None or r.is_predefined == is_predefined)
        ]
        return self._page(
            "roles",
            items,
            limit=limit,
            cursor=cursor,
            filters={"is_predefined": is_predefined},
        )

    def get_role(self, caller: Caller, role_id: str) -> Role:
        """GET /v2/roles/{role_id}."""
        self._require_role_read(caller)
        return self._role(role_id)

    def _check_role_name(self, name: str, *, exclude: str | None = None) -> None:
        if not ROLE_NAME_RE.match(name):
            raise UnprocessableEntity(
                f"Role name '{name}' contains characters that are not allowed."
            )
        if any(r.name == name and not r.deleted and r.id != exclude for r in self.roles.values()):
            raise Conflict(f"A role named '{name}' already exists.")

    @staticmethod
    def _check_permissions(permissions: list[str]) -> list[str]:
        if not permissions:
            raise UnprocessableEntity("permissions must contain at least one permission.")
        unknown = sorted(set(permissions) - ALL_PERMISSIONS)
        if unknown:
            raise UnprocessableEntity(f"Unknown permissions: {', '.join(unknown)}.")
        return sorted(set(permissions))

    @mutation("createRole", "POST /v2/roles")
    def create_role(
        self, caller: Caller, *, name: str, permissions: list[str], description: str | None
    ) -> Role:
        """POST /v2/roles: account admins; names unique in the account."""
        self._require_account_admin(caller, "create roles")
        self._check_role_name(name)
        perms = self._check_permissions(permissions)
        role_id, n = self.next_id("Role")
        now = utcnow()
        role = Role(
            id=role_id,
            n=n,
            name=name,
            description=description or None,
            permissions=perms,
            is_predefined=False,
            created_at=now,
            updated_at=now,
        )
        self.roles[role_id] = role
        return role

    @mutation("updateRole", "PATCH /v2/roles/{role_id}")
    def update_role(self, caller: Caller, role_id: str, *, changes: dict[str, Any]) -> Role:
        """PATCH /v2/roles/{role_id}: permissions are replaced, ``description: null`` clears."""
        role = self.get_role(caller, role_id)
        self._require_account_admin(caller, "update roles")
        if role.is_predefined:
            raise BadRequest("Predefined roles cannot be updated.")
        if not changes:
            raise BadRequest("At least one of name, description or permissions is required.")
        if "name" in changes:
            if changes["name"] is None:
                raise UnprocessableEntity("name must not be null.")
            self._check_role_name(changes["name"], exclude=role.id)
        if "permissions" in changes:
            if changes["permissions"] is None:
                raise UnprocessableEntity("permissions must not be null.")
            role.permissions = self._check_permissions(changes["permissions"])
        if "name" in changes:
            role.name = changes["name"]
        if "description" in changes:
            role.description = changes["description"] or None
        role.updated_at = utcnow()
        return role

    @mutation("deleteRole", "DELETE /v2/roles/{role_id}")
    def delete_role(self, caller: Caller, role_id: str) -> None:
        """DELETE /v2/roles/{role_id}: soft delete; refused while bindings use it."""
        role = self.get_role(caller, role_id)
        self._require_account_admin(caller, "delete roles")
        if role.is_predefined:
            raise BadRequest("Predefined roles cannot be deleted.")
        in_use = any(b.role_id == role.id for b in self.bindings.values())
        if in_use:
            raise Conflict("The role still has role bindings; remove them first.")
        role.deleted = True
        role.updated_at = utcnow()

    def seed_predefined_roles(self, when: datetime) -> None:
        """Create the predefined RBAC roles listed by GET /v2/roles."""
        for enum_name, display in PREDEFINED_ROLE_NAMES.items():
            role_id, n = self.next_id("Role")
            self.roles[role_id] = Role(
                id=role_id,
                n=n,
                name=display,
                description=f"Predefined {display} role.",
                permissions=sorted(PREDEFINED_PERMISSIONS[enum_name]),
                is_predefined=True,
                created_at=when,
                updated_at=when,
                predefined_name=enum_name,
            )
