"""`client.roles`: custom RBAC roles (predefined roles are read-only)."""

from __future__ import annotations

from collections.abc import Iterable

from .._pagination import AsyncPaginator
from .._resource import UNSET, AsyncAPIResource, Unset, body_value, compact, path_id
from ..types import Permission, Role

__all__ = ["Roles"]


def _permissions(permissions: Iterable[Permission | str]) -> list[str]:
    values = [body_value(Permission(p)) for p in permissions]
    if not values:
        raise ValueError("a role needs at least one permission")
    return values


class Roles(AsyncAPIResource):
    """Roles of the account: list all, manage custom ones."""

    def list(
        self, *, is_predefined: bool | None = None, limit: int | None = None
    ) -> AsyncPaginator[Role]:
        """List roles.

        Args:
            is_predefined: True for system roles only, False for custom roles only.
            limit: page size, 1..100.
        """
        return self._list(
            "/v2/roles",
            item_key="roles",
            parse=Role.model_validate,
            is_predefined=is_predefined,
            limit=limit,
        )

    async def get(self, role_id: str) -> Role:
        """Get one role by id."""
        return Role.model_validate(await self._get(f"/v2/roles/{path_id(role_id)}"))

    async def create(
        self,
        *,
        name: str,
        permissions: Iterable[Permission | str],
        description: str | None = None,
    ) -> Role:
        """Create a custom role.

        Raises:
            ConflictError: the name is taken in the account.
        """
        body = compact(name=name, description=description, permissions=_permissions(permissions))
        return Role.model_validate(await self._post("/v2/roles", body=body))

    async def update(
        self,
        role_id: str,
        *,
        name: str | None = None,
        description: str | Unset | None = UNSET,
        permissions: Iterable[Permission | str] | None = None,
    ) -> Role:
        """Change a custom role; `permissions` replaces the whole set, `description=None` clears."""
        body = compact(
            name=name, permissions=None if permissions is None else _permissions(permissions)
        )
        if description is not UNSET:
            body["description"] = description
        if not body:
            raise ValueError("give name, description or permissions")
        return Role.model_validate(await self._patch(f"/v2/roles/{path_id(role_id)}", body=body))

    async def delete(self, role_id: str) -> None:
        """Delete a custom role.

        Raises:
            ConflictError: role bindings still use it.
        """
        await self._delete(f"/v2/roles/{path_id(role_id)}")

    async def find_by_name(self, name: str) -> Role | None:
        """The role named exactly `name` (case-sensitive, predefined included), or None."""
        async for role in self.list(limit=100):
            if role.name == name:
                return role
        return None
