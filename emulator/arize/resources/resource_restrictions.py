"""Resource restrictions: ``/v2/resource-restrictions`` (projects only).
"""

from __future__ import annotations

from emulator.arize.authorization import Authorization
from emulator.arize.errors import BadRequest, Forbidden, NotFound
from emulator.arize.ids import id_type
from emulator.arize.models import Project, Restriction, User, utcnow
from emulator.arize.pagination import Page
from emulator.arize.store import Caller, mutation

__all__ = ["ResourceRestrictions"]


class ResourceRestrictions(Authorization):
    """Restrict and unrestrict projects; idempotent on create."""

    def _may_manage_restriction(self, user: User, resource_id: str) -> bool:
        project = self.projects.get(resource_id)
        if project is None:
            return False
        space = self.spaces[project.space_id]
        return self.is_space_admin(user, space) or "PROJECT_RESTRICT" in (
            self.space_permissions(user, space) | self._binding_permissions(user, project.id)
        )

    def list_restrictions(
        self, caller: Caller, *, resource_type: str | None, limit: int | None, cursor: str | None
    ) -> Page[Restriction]:
        """GET /v2/resource-restrictions: filtered after paging, so pages may be short."""
        items = [
            r
            for r in self.restrictions.values()
            if resource_type is None or r.resource_type == resource_type
        ]
        return self._page(
            "resource_restrictions",
            items,
            limit=limit,
            cursor=cursor,
            filters={"resource_type": resource_type},
            visible=lambda r: self._may_manage_restriction(caller.user, r.resource_id),
        )

    def _restrictable_project(self, resource_id: str) -> Project:
        found = id_type(resource_id)
        if found is None:
            raise BadRequest(f"Invalid resource_id: '{resource_id}' is not a valid global id.")
        if found != "Model":
            raise BadRequest(f"Resources of type {found} cannot be restricted.")
        project = self.projects.get(resource_id)
        if project is None:
            raise NotFound(f"Resource '{resource_id}' not found.")
        return project

    @mutation("createResourceRestriction", "POST /v2/resource-restrictions")
    def restrict(self, caller: Caller, *, resource_id: str) -> Restriction:
        """POST /v2/resource-restrictions: idempotent; the type is inferred from the id."""
        project = self._restrictable_project(resource_id)
        if not self.can_see_project(caller.user, project):
            raise NotFound(f"Resource '{resource_id}' not found.")
        if not self._may_manage_restriction(caller.user, project.id):
            raise Forbidden("You need PROJECT_RESTRICT on this project.")
        existing = self.restrictions.get(project.id)
        if existing is not None:
            return existing
        self.counters["Restriction"] = n = self.counters.get("Restriction", 0) + 1
        restriction = Restriction(
            resource_id=project.id, resource_type="PROJECT", created_at=utcnow(), n=n
        )
        self.restrictions[project.id] = restriction
        return restriction

    @mutation("deleteResourceRestriction", "DELETE /v2/resource-restrictions/{resource_id}")
    def unrestrict(self, caller: Caller, resource_id: str) -> None:
        """DELETE /v2/resource-restrictions/{resource_id}: 404 when not restricted."""
        project = self._restrictable_project(resource_id)
        if project.id not in self.restrictions:
            raise NotFound(f"Resource '{resource_id}' is not restricted.")
        if not self._may_manage_restriction(caller.user, project.id):
            raise Forbidden("You need PROJECT_RESTRICT on this project.")
        del self.restrictions[project.id]
