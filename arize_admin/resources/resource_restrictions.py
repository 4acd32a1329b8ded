"""`client.resource_restrictions`: cut a resource off from inherited roles."""

from __future__ import annotations

from .._pagination import AsyncPaginator
from .._resource import AsyncAPIResource, path_id
from ..types import ResourceRestriction, ResourceRestrictionType

__all__ = ["ResourceRestrictions"]


class ResourceRestrictions(AsyncAPIResource):
    """Restrictions, keyed by the restricted resource's id."""

    def list(
        self,
        *,
        resource_type: ResourceRestrictionType | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[ResourceRestriction]:
        """List the restrictions the caller may manage (pages may be short or empty).

        Args:
            resource_type: `PROJECT`, `DASHBOARD` or `PROMPT`; all when omitted.
            limit: page size, 1..100.
        """
        return self._list(
            "/v2/resource-restrictions",
            item_key="resource_restrictions",
            parse=ResourceRestriction.model_validate,
            resource_type=resource_type,
            limit=limit,
        )

    async def restrict(self, resource_id: str) -> ResourceRestriction:
        """Restrict a project, dashboard or prompt; restricting twice is a no-op."""
        data = await self._post(
            "/v2/resource-restrictions", body={"resource_id": resource_id}, expected=(200,)
        )
        return ResourceRestriction.model_validate(data)

    async def unrestrict(self, resource_id: str) -> None:
        """Lift a restriction.

        Raises:
            NotFoundError: the resource is not restricted.
        """
        await self._delete(f"/v2/resource-restrictions/{path_id(resource_id)}")
