"""`client.role_bindings`: one role for one user on one space or project."""

from __future__ import annotations

from .._pagination import AsyncPaginator
from .._resource import AsyncAPIResource, body_value, path_id
from ..types import RoleBinding, RoleBindingResourceType

__all__ = ["RoleBindings"]


class RoleBindings(AsyncAPIResource):
    """Role bindings. For a service key, the user is its `bot_user.id`."""

    def list(
        self,
        *,
        resource_type: RoleBindingResourceType | str,
        user_id: str | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[RoleBinding]:
        """List the bindings on spaces or projects the caller may read.

        Args:
            resource_type: `SPACE` or `PROJECT` (required by the API).
            user_id: only this user's bindings.
            limit: page size, 1..100.
        """
        return self._list(
            "/v2/role-bindings",
            item_key="role_bindings",
            parse=RoleBinding.model_validate,
            resource_type=RoleBindingResourceType(resource_type),
            user_id=user_id,
            limit=limit,
        )

    async def get(self, binding_id: str) -> RoleBinding:
        """Get one binding by id."""
        return RoleBinding.model_validate(
            await self._get(f"/v2/role-bindings/{path_id(binding_id)}")
        )

    async def create(
        self,
        *,
        user_id: str,
        role_id: str,
        resource_type: RoleBindingResourceType | str,
        resource_id: str,
    ) -> RoleBinding:
        """Bind a role to a user on a resource.

        Raises:
            ConflictError: the user already has a binding on the resource (use `update`).
            PermissionDeniedError: no right to bind there, or the resource does not exist.
        """
        body = {
            "user_id": user_id,
            "role_id": role_id,
            "resource_type": body_value(RoleBindingResourceType(resource_type)),
            "resource_id": resource_id,
        }
        return RoleBinding.model_validate(await self._post("/v2/role-bindings", body=body))

    async def update(self, binding_id: str, *, role_id: str) -> RoleBinding:
        """Change the role of a binding."""
        data = await self._patch(
            f"/v2/role-bindings/{path_id(binding_id)}", body={"role_id": role_id}
        )
        return RoleBinding.model_validate(data)

    async def delete(self, binding_id: str) -> None:
        """Delete a binding."""
        await self._delete(f"/v2/role-bindings/{path_id(binding_id)}")
