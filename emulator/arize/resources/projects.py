"""Projects: ``/v2/projects`` and the cascade that removes a project with its bindings.
"""

from __future__ import annotations

from emulator.arize.authorization import Authorization
from emulator.arize.errors import BadRequest, Conflict, Forbidden, NotFound
from emulator.arize.ids import decode_id
from emulator.arize.models import Project, utcnow
from emulator.arize.pagination import Page
from emulator.arize.store import Caller, mutation

__all__ = ["Projects"]


class Projects(Authorization):
    """Project operations; a project's bindings and restriction go with it."""

    def list_projects(
        self,
        caller: Caller,
        *,
        space_id: str | None,
        space_name: str | None,
        name: str | None,
        project_type: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[Project]:
        """GET /v2/projects: restricted projects only for admins and bound users."""
        if space_id is not None:
            self.visible_space(caller.user, space_id)
        space_needle = (space_name or "").lower()
        needle = (name or "").lower()
        return self._page_table(
            "projects",
            self.projects,
            predicate=lambda p: (
                (space_id is None or p.space_id == space_id)
                and space_needle in self.spaces[p.space_id].name.lower()
                and needle in p.name.lower()
                and (project_type is None or p.project_type == project_type)
                and self.can_see_project(caller.user, p)
            ),
            limit=limit,
            cursor=cursor,
            filters={
                "space_id": space_id,
                "space_name": space_name,
                "name": name,
                "project_type": project_type,
            },
        )

    def get_project(self, caller: Caller, project_id: str) -> Project:
        """GET /v2/projects/{project_id}."""
        project = self._project(project_id)
        if not self.can_see_project(caller.user, project):
            raise NotFound(f"Project '{project_id}' not found.")
        return project

    def _check_project_name(self, space_id: str, name: str, *, exclude: str | None = None) -> None:
        if not name.strip():
            raise BadRequest("name must not be blank.")
        if any(
            p.space_id == space_id and p.name == name and p.id != exclude
            for p in self.projects.values()
        ):
            raise Conflict(f"A project named '{name}' already exists in this space.")

    @mutation("createProject", "POST /v2/projects")
    def create_project(self, caller: Caller, *, name: str, space_id: str) -> Project:
        """POST /v2/projects: PROJECT_CREATE on the space (403 also for an unknown space)."""
        decode_id(space_id, "Space", field="space_id")
        space = self.spaces.get(space_id)
        if space is None or "PROJECT_CREATE" not in self.space_permissions(caller.user, space):
            raise Forbidden("You need PROJECT_CREATE on this space.")
        self._check_project_name(space.id, name)
        project_id, n = self.next_id("Model")
        project = Project(id=project_id, n=n, space_id=space.id, name=name, created_at=utcnow())
        self.projects[project_id] = project
        return project

    @mutation("updateProject", "PATCH /v2/projects/{project_id}")
    def update_project(self, caller: Caller, project_id: str, *, name: str) -> Project:
        """PATCH /v2/projects/{project_id}: rename."""
        project = self.get_project(caller, project_id)
        if "PROJECT_UPDATE" not in self.project_permissions(caller.user, project):
            raise Forbidden("You need PROJECT_UPDATE on this project.")
        self._check_project_name(project.space_id, name, exclude=project.id)
        project.name = name
        return project

    @mutation("deleteProject", "DELETE /v2/projects/{project_id}")
    def delete_project(self, caller: Caller, project_id: str) -> None:
        """DELETE /v2/projects/{project_id}: with its bindings and restriction."""
        project = self.get_project(caller, project_id)
        if "PROJECT_DELETE" not in self.project_permissions(caller.user, project):
            raise Forbidden("You need PROJECT_DELETE on this project.")
        self._delete_project_tree(project)

    def _delete_project_tree(self, project: Project) -> None:
        for b in [b for b in self.bindings.values() if b.resource_id == project.id]:
            del self.bindings[b.id]
        self.restrictions.pop(project.id, None)
        del self.projects[project.id]
