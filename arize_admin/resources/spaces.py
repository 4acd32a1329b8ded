"""`client.spaces`: spaces and their members."""

from __future__ import annotations

from typing import Any

from .._exceptions import AmbiguousNameError
from .._pagination import AsyncPaginator
from .._resource import UNSET, AsyncAPIResource, Unset, compact, path_id
from ..types import (
    DefaultAgentRuntime,
    DefaultLlmIntegration,
    RoleAssignment,
    Space,
    SpaceMembership,
    SpaceRole,
)
from ..types._common import role_body

__all__ = ["Spaces"]


def _nullable_object(value: Any) -> Any:
    return value.model_dump(exclude_none=True) if hasattr(value, "model_dump") else value


class Spaces(AsyncAPIResource):
    """Spaces: CRUD and membership."""

    def list(
        self, *, org_id: str | None = None, name: str | None = None, limit: int | None = None
    ) -> AsyncPaginator[Space]:
        """List the spaces the caller can access.

        Args:
            org_id: only the spaces of this organization.
            name: case-insensitive substring of the name.
            limit: page size, 1..100.
        """
        return self._list(
            "/v2/spaces",
            item_key="spaces",
            parse=Space.model_validate,
            org_id=org_id,
            name=name,
            limit=limit,
        )

    async def get(self, space_id: str) -> Space:
        """Get one space by id."""
        return Space.model_validate(await self._get(f"/v2/spaces/{path_id(space_id)}"))

    async def create(
        self,
        *,
        name: str,
        organization_id: str,
        description: str | None = None,
        is_private: bool | None = None,
    ) -> Space:
        """Create a space in an organization.

        Raises:
            ConflictError: the name is taken in the organization.
            NotFoundError: the organization does not exist.
        """
        body = compact(
            name=name,
            organization_id=organization_id,
            description=description,
            is_private=is_private,
        )
        return Space.model_validate(await self._post("/v2/spaces", body=body))

    async def update(
        self,
        space_id: str,
        *,
        name: str | None = None,
        description: str | Unset | None = UNSET,
        is_private: bool | None = None,
        default_llm_integration: DefaultLlmIntegration | Unset | None = UNSET,
        ml_models_enabled: bool | None = None,
        gradient_start_color: str | None = None,
        gradient_end_color: str | None = None,
        default_agent_runtime: DefaultAgentRuntime | Unset | None = UNSET,
    ) -> Space:
        """Change a space; only the given fields are sent, and None clears a nullable one."""
        body = compact(
            name=name,
            is_private=is_private,
            ml_models_enabled=ml_models_enabled,
            gradient_start_color=gradient_start_color,
            gradient_end_color=gradient_end_color,
        )
        nullable = {
            "description": description,
            "default_llm_integration": default_llm_integration,
            "default_agent_runtime": default_agent_runtime,
        }
        body.update({k: _nullable_object(v) for k, v in nullable.items() if v is not UNSET})
        if not body:
            raise ValueError("give at least one field to change")
        return Space.model_validate(await self._patch(f"/v2/spaces/{path_id(space_id)}", body=body))

    async def delete(self, space_id: str) -> None:
        """Delete a space and everything in it."""
        await self._delete(f"/v2/spaces/{path_id(space_id)}")

    async def add_user(
        self, space_id: str, *, user_id: str, role: SpaceRole | str | RoleAssignment
    ) -> SpaceMembership:
        """Add an organization member to a space, or change their role if already there."""
        data = await self._post(
            f"/v2/spaces/{path_id(space_id)}/users",
            body={"user_id": user_id, "role": role_body(role)},
            expected=(200,),
        )
        return SpaceMembership.model_validate(data)

    async def remove_user(self, space_id: str, *, user_id: str) -> None:
        """Remove a user from a space, with every role binding they hold on it."""
        await self._delete(f"/v2/spaces/{path_id(space_id)}/users/{path_id(user_id)}")

    async def find_by_name(self, name: str, *, org_id: str | None = None) -> Space | None:
        """The space named exactly `name` (case-sensitive), or None.

        Raises:
            AmbiguousNameError: several organizations have a space of that name; pass `org_id`.
        """
        matches = [
            s async for s in self.list(name=name, org_id=org_id, limit=100) if s.name == name
        ]
        if len(matches) > 1:
            raise AmbiguousNameError(name, [s.id for s in matches])
        return matches[0] if matches else None
