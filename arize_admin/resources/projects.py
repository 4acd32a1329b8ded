"""`client.projects`: project CRUD."""

from __future__ import annotations

from .._pagination import AsyncPaginator
from .._resource import AsyncAPIResource, path_id
from ..types import Project, ProjectType

__all__ = ["Projects"]


class Projects(AsyncAPIResource):
    """Projects (create, rename, delete; no data-plane operations)."""

    def list(
        self,
        *,
        space_id: str | None = None,
        space_name: str | None = None,
        name: str | None = None,
        project_type: ProjectType | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[Project]:
        """List projects.

        Args:
            space_id: only the projects of this space.
            space_name: case-insensitive substring of the space name.
            name: case-insensitive substring of the project name.
            project_type: only projects of this type.
            limit: page size, 1..100.
        """
        return self._list(
            "/v2/projects",
            item_key="projects",
            parse=Project.model_validate,
            space_id=space_id,
            space_name=space_name,
            name=name,
            project_type=project_type,
            limit=limit,
        )

    async def get(self, project_id: str) -> Project:
        """Get one project by id."""
        return Project.model_validate(await self._get(f"/v2/projects/{path_id(project_id)}"))

    async def create(self, *, name: str, space_id: str) -> Project:
        """Create a project in a space.

        Raises:
            ConflictError: the name is taken in the space.
        """
        data = await self._post("/v2/projects", body={"name": name, "space_id": space_id})
        return Project.model_validate(data)

    async def update(self, project_id: str, *, name: str) -> Project:
        """Rename a project."""
        data = await self._patch(f"/v2/projects/{path_id(project_id)}", body={"name": name})
        return Project.model_validate(data)

    async def delete(self, project_id: str) -> None:
        """Delete a project."""
        await self._delete(f"/v2/projects/{path_id(project_id)}")

    async def find_by_name(self, name: str, *, space_id: str) -> Project | None:
        """The project of `space_id` named exactly `name` (case-sensitive), or None."""
        async for project in self.list(space_id=space_id, name=name, limit=100):
            if project.name == name:
                return project
        return None
