"""Memberships: a user's place in an org or a space, written by several resources.

Org and space users, service keys' bot users and SPACE role bindings all come down to these rows;
a space membership and its one SPACE role binding are kept in step here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from emulator.arize.authorization import Authorization
from emulator.arize.errors import BadRequest
from emulator.arize.models import (
    Organization,
    OrgMember,
    Role,
    RoleBinding,
    Space,
    SpaceMember,
    User,
    utcnow,
)
from emulator.arize.store import predefined

__all__ = ["Memberships"]


class Memberships(Authorization):
    """Upserts and removals of org and space memberships (no HTTP operation of its own)."""

    def _check_annotator_rule(self, user: User, role: dict[str, Any]) -> None:
        account_annotator = self.account_role(user) == "ANNOTATOR"
        is_annotator_role = role.get("type") == "PREDEFINED" and role.get("name") == "ANNOTATOR"
        if account_annotator and not is_annotator_role:
            raise BadRequest("A user with the account role ANNOTATOR may only be given ANNOTATOR.")
        if not account_annotator and is_annotator_role:
            raise BadRequest("Only users with the account role ANNOTATOR may be given ANNOTATOR.")

    def _upsert_org_member(self, user: User, org: Organization, role: dict[str, Any]) -> OrgMember:
        m = self.org_membership(user.id, org.id)
        if m is None:
            m_id, n = self.next_id("OrganizationMember")
            m = OrgMember(id=m_id, n=n, user_id=user.id, org_id=org.id, role=dict(role))
            self.org_members[m_id] = m
        else:
            m.role = dict(role)
        return m

    @staticmethod
    def assignment_for(role: Role) -> dict[str, Any]:
        """The space role assignment that a binding to ``role`` stands for."""
        if role.is_predefined and role.predefined_name:
            return predefined(role.predefined_name)
        return {"type": "CUSTOM", "id": role.id}

    def _upsert_space_member(
        self, user: User, space: Space, role: dict[str, Any], *, when: datetime | None = None
    ) -> SpaceMember:
        """Set the user's role on a space: the membership row and its one SPACE binding.

        A space membership *is* the user's single role binding on the space (predefined roles
        are Role objects too), so ``GET /v2/role-bindings?resource_type=SPACE`` lists
        memberships, and the two are created, changed and removed together.
        """
        stored = (
            {"type": "CUSTOM", "id": role["id"]} if role.get("type") == "CUSTOM" else dict(role)
        )
        role_id = (
            stored["id"] if stored["type"] == "CUSTOM" else self.predefined_role_id(stored["name"])
        )
        now = when or utcnow()
        m = self.space_membership(user.id, space.id)
        if m is None:
            m_id, n = self.next_id("SpaceMember")
            m = SpaceMember(id=m_id, n=n, user_id=user.id, space_id=space.id, role=stored)
            self.space_members[m_id] = m
        else:
            m.role = stored
        existing = self.binding_on(user.id, space.id)
        if existing is None:
            self.add_binding(user.id, role_id, "SPACE", space.id, when=now)
        elif existing.role_id != role_id:
            existing.role_id, existing.updated_at = role_id, now
        return m

    def add_binding(
        self,
        user_id: str,
        role_id: str,
        resource_type: str,
        resource_id: str,
        *,
        when: datetime | None = None,
    ) -> RoleBinding:
        """Store a new role binding (a SPACE one goes with its membership: see above)."""
        b_id, n = self.next_id("RoleBinding")
        now = when or utcnow()
        binding = RoleBinding(
            id=b_id,
            n=n,
            role_id=role_id,
            user_id=user_id,
            resource_type=resource_type,
            resource_id=resource_id,
            created_at=now,
            updated_at=now,
        )
        self.bindings[b_id] = binding
        return binding

    def _remove_from_space(self, user: User, space: Space) -> bool:
        m = self.space_membership(user.id, space.id)
        for b in [
            b for b in self.bindings.values() if b.user_id == user.id and b.resource_id == space.id
        ]:
            del self.bindings[b.id]
        if m is None:
            return False
        del self.space_members[m.id]
        return True
