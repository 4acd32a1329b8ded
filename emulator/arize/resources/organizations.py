"""Organizations: ``/v2/organizations`` and its users, and the cascade of deleting one.
"""

from __future__ import annotations

from typing import Any

from emulator.arize.errors import BadRequest, Conflict, Forbidden, NotFound, UnprocessableEntity
from emulator.arize.models import Organization, OrgMember, utcnow
from emulator.arize.pagination import Page
from emulator.arize.resources.api_keys import ApiKeys
from emulator.arize.resources.spaces import Spaces
from emulator.arize.store import Caller, mutation

__all__ = ["Organizations"]


class Organizations(Spaces, ApiKeys):
    """Org operations; deleting an org deletes its spaces and revokes keys bound only to it."""

    def list_organizations(
        self, caller: Caller, *, name: str | None, limit: int | None, cursor: str | None
    ) -> Page[Organization]:
        """GET /v2/organizations: the orgs the caller belongs to (all for admins)."""
        needle = (name or "").lower()
        items = [
            o
            for o in self.orgs.values()
            if self.visible_org(caller.user, o) and needle in o.name.lower()
        ]
        return self._page(
            "organizations",
            items,
            limit=limit,
            cursor=cursor,
            filters={"name": name},
        )

    def get_organization(self, caller: Caller, org_id: str) -> Organization:
        """GET /v2/organizations/{org_id}."""
        org = self._org(org_id, field="org_id")
        if not self.visible_org(caller.user, org):
            raise NotFound(f"Organization '{org_id}' not found.")
        return org

    def _check_org_name(self, name: str, *, exclude: str | None = None) -> None:
        if not name.strip():
            raise BadRequest("name must not be blank.")
        if any(o.name == name and o.id != exclude for o in self.orgs.values()):
            raise Conflict(f"An organization named '{name}' already exists.")

    @mutation("createOrganization", "POST /v2/organizations")
    def create_organization(
        self, caller: Caller, *, name: str, description: str | None
    ) -> Organization:
        """POST /v2/organizations: account admins only; names unique in the account."""
        self._require_account_admin(caller, "create organizations")
        self._check_org_name(name)
        org_id, n = self.next_id("Organization")
        org = Organization(
            id=org_id, n=n, name=name, description=description or "", created_at=utcnow()
        )
        self.orgs[org_id] = org
        return org

    @mutation("updateOrganization", "PATCH /v2/organizations/{org_id}")
    def update_organization(
        self, caller: Caller, org_id: str, *, changes: dict[str, Any]
    ) -> Organization:
        """PATCH /v2/organizations/{org_id}: ``description: null`` clears it."""
        org = self.get_organization(caller, org_id)
        if not changes:
            raise BadRequest("At least one of name or description is required.")
        if not self.is_org_admin(caller.user, org.id):
            raise Forbidden("Only organization admins may update the organization.")
        if "name" in changes:
            if changes["name"] is None:
                raise UnprocessableEntity("name must not be null.")
            self._check_org_name(changes["name"], exclude=org.id)
            org.name = changes["name"]
        if "description" in changes:
            org.description = changes["description"] or ""
        return org

    @mutation("deleteOrganization", "DELETE /v2/organizations/{org_id}")
    def delete_organization(self, caller: Caller, org_id: str) -> None:
        """DELETE /v2/organizations/{org_id}: spaces, projects, memberships, service keys."""
        org = self.get_organization(caller, org_id)
        if not self.is_org_admin(caller.user, org.id):
            raise Forbidden("Only organization admins may delete the organization.")
        bots = {m.user_id for m in self.org_members.values() if m.org_id == org.id}
        for space in [s for s in self.spaces.values() if s.org_id == org.id]:
            self._delete_space_tree(space)
        for m in [m for m in self.org_members.values() if m.org_id == org.id]:
            del self.org_members[m.id]
        for key in self.api_keys.values():
            if key.key_type == "SERVICE" and key.user_id in bots:
                still_bound = any(m.user_id == key.user_id for m in self.org_members.values())
                if not still_bound:
                    self._revoke(key)
        del self.orgs[org.id]

    @mutation("addOrganizationUser", "POST /v2/organizations/{org_id}/users")
    def add_organization_user(
        self, caller: Caller, org_id: str, *, user_id: str, role: dict[str, Any]
    ) -> OrgMember:
        """POST /v2/organizations/{org_id}/users: upsert; predefined roles only."""
        org = self.get_organization(caller, org_id)
        if not self.is_org_admin(caller.user, org.id):
            raise Forbidden("Only organization admins may add users.")
        user = self._user(user_id)
        if role.get("type") == "CUSTOM":
            raise BadRequest("Custom roles are not yet supported for organizations.")
        self._check_annotator_rule(user, role)
        return self._upsert_org_member(user, org, role)

    @mutation("removeOrganizationUser", "DELETE /v2/organizations/{org_id}/users/{user_id}")
    def remove_organization_user(self, caller: Caller, org_id: str, user_id: str) -> None:
        """DELETE /v2/organizations/{org_id}/users/{user_id}: also leaves every org space."""
        org = self.get_organization(caller, org_id)
        if not self.is_org_admin(caller.user, org.id):
            raise Forbidden("Only organization admins may remove users.")
        user = self._user(user_id)
        m = self.org_membership(user.id, org.id)
        if m is None:
            raise NotFound(f"User '{user_id}' is not a member of organization '{org_id}'.")
        del self.org_members[m.id]
        for space in [s for s in self.spaces.values() if s.org_id == org.id]:
            self._remove_from_space(user, space)
