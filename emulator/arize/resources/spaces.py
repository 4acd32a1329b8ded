"""Spaces: ``/v2/spaces`` and its users, and the cascade that removes a space's tree.
"""

from __future__ import annotations

from typing import Any

from emulator.arize.errors import BadRequest, Conflict, Forbidden, NotFound, UnprocessableEntity
from emulator.arize.models import Space, SpaceMember, utcnow
from emulator.arize.pagination import Page
from emulator.arize.resources.memberships import Memberships
from emulator.arize.resources.projects import Projects
from emulator.arize.store import Caller, mutation

__all__ = ["Spaces"]


class Spaces(Projects, Memberships):
    """Space operations; deleting a space deletes its projects, bindings and members."""

    def list_spaces(
        self,
        caller: Caller,
        *,
        org_id: str | None,
        name: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[Space]:
        """GET /v2/spaces: the spaces the caller can see."""
        if org_id is not None:
            self._org(org_id, field="org_id")
        needle = (name or "").lower()
        return self._page_table(
            "spaces",
            self.spaces,
            predicate=lambda s: (
                (org_id is None or s.org_id == org_id)
                and needle in s.name.lower()
                and self.can_see_space(caller.user, s)
            ),
            limit=limit,
            cursor=cursor,
            filters={"org_id": org_id, "name": name},
        )

    def get_space(self, caller: Caller, space_id: str) -> Space:
        """GET /v2/spaces/{space_id}."""
        return self.visible_space(caller.user, space_id)

    def _check_space_name(self, org_id: str, name: str, *, exclude: str | None = None) -> None:
        if not name.strip():
            raise BadRequest("name must not be blank.")
        if any(
            s.org_id == org_id and s.name == name and s.id != exclude for s in self.spaces.values()
        ):
            raise Conflict(f"A space named '{name}' already exists in this organization.")

    @mutation("createSpace", "POST /v2/spaces")
    def create_space(
        self,
        caller: Caller,
        *,
        name: str,
        organization_id: str,
        description: str | None,
        is_private: bool | None,
    ) -> Space:
        """POST /v2/spaces: org admins; names unique within the org."""
        org = self._org(organization_id)
        if not self.visible_org(caller.user, org):
            raise NotFound(f"Organization '{organization_id}' not found.")
        if not self.is_org_admin(caller.user, org.id):
            raise Forbidden("Only organization admins may create spaces.")
        self._check_space_name(org.id, name)
        space_id, n = self.next_id("Space")
        space = Space(
            id=space_id,
            n=n,
            org_id=org.id,
            name=name,
            description=description or "",
            created_at=utcnow(),
            is_private=bool(is_private),
        )
        self.spaces[space_id] = space
        return space

    @mutation("updateSpace", "PATCH /v2/spaces/{space_id}")
    def update_space(self, caller: Caller, space_id: str, *, changes: dict[str, Any]) -> Space:
        """PATCH /v2/spaces/{space_id}: omitted fields unchanged, null clears nullable ones."""
        space = self.visible_space(caller.user, space_id)
        if not changes:
            raise BadRequest("At least one field is required.")
        if "SPACE_UPDATE" not in self.space_permissions(caller.user, space):
            raise Forbidden("You need SPACE_UPDATE on this space.")
        if "description" in changes and changes["description"] == "":
            raise BadRequest("description must not be empty; send null to clear it.")
        for field in ("name", "is_private", "ml_models_enabled"):
            if field in changes and changes[field] is None:
                raise UnprocessableEntity(f"{field} must not be null.")
        if "name" in changes:
            self._check_space_name(space.org_id, changes["name"], exclude=space.id)
        for field, value in changes.items():
            if field == "description":
                value = value or ""
            setattr(space, field, value)
        return space

    @mutation("deleteSpace", "DELETE /v2/spaces/{space_id}")
    def delete_space(self, caller: Caller, space_id: str) -> None:
        """DELETE /v2/spaces/{space_id}: its projects, bindings, restrictions and members."""
        space = self.visible_space(caller.user, space_id)
        if "SPACE_DELETE" not in self.space_permissions(caller.user, space):
            raise Forbidden("You need SPACE_DELETE on this space.")
        self._delete_space_tree(space)

    @mutation("addSpaceUser", "POST /v2/spaces/{space_id}/users")
    def add_space_user(
        self, caller: Caller, space_id: str, *, user_id: str, role: dict[str, Any]
    ) -> SpaceMember:
        """POST /v2/spaces/{space_id}/users: upsert; the user must be in the parent org."""
        space = self.visible_space(caller.user, space_id)
        if role.get("type") == "CUSTOM":
            if "ROLE_BINDING_CREATE" not in self.space_permissions(caller.user, space):
                raise Forbidden("You need ROLE_BINDING_CREATE on this space.")
        elif not self.is_space_admin(caller.user, space):
            raise Forbidden("Only space admins may add users.")
        user = self._user(user_id)
        if role.get("type") == "CUSTOM":
            self._role(str(role.get("id")), field="role.id")
        if self.org_membership(user.id, space.org_id) is None:
            raise BadRequest("The user must be a member of the space's organization first.")
        self._check_annotator_rule(user, role)
        return self._upsert_space_member(user, space, role)

    @mutation("removeSpaceUser", "DELETE /v2/spaces/{space_id}/users/{user_id}")
    def remove_space_user(self, caller: Caller, space_id: str, user_id: str) -> None:
        """DELETE /v2/spaces/{space_id}/users/{user_id}: membership and its SPACE bindings."""
        space = self.visible_space(caller.user, space_id)
        if not self.is_space_admin(caller.user, space) and (
            "ROLE_BINDING_DELETE" not in self.space_permissions(caller.user, space)
        ):
            raise Forbidden("Only space admins may remove users.")
        user = self._user(user_id)
        if self.space_membership(user.id, space.id) is None:
            raise NotFound(f"User '{user_id}' is not a member of space '{space_id}'.")
        self._remove_from_space(user, space)

    def _delete_space_tree(self, space: Space) -> None:
        for project in [p for p in self.projects.values() if p.space_id == space.id]:
            self._delete_project_tree(project)
        for b in [b for b in self.bindings.values() if b.resource_id == space.id]:
            del self.bindings[b.id]
        for m in [m for m in self.space_members.values() if m.space_id == space.id]:
            del self.space_members[m.id]
        del self.spaces[space.id]
