"""`client.organizations`: organizations and their members."""

from __future__ import annotations

from .._pagination import AsyncPaginator
from .._resource import UNSET, AsyncAPIResource, Unset, compact, path_id
from ..types import Organization, OrganizationMembership, OrgRole, RoleAssignment
from ..types._common import role_body

__all__ = ["Organizations"]


class Organizations(AsyncAPIResource):
    """Organizations: CRUD and membership."""

    def list(
        self, *, name: str | None = None, limit: int | None = None
    ) -> AsyncPaginator[Organization]:
        """List the organizations the caller can access.

        Args:
            name: case-insensitive substring of the name.
            limit: page size, 1..100.
        """
        return self._list(
            "/v2/organizations",
            item_key="organizations",
            parse=Organization.model_validate,
            name=name,
            limit=limit,
        )

    async def get(self, org_id: str) -> Organization:
        """Get one organization by id."""
        return Organization.model_validate(await self._get(f"/v2/organizations/{path_id(org_id)}"))

    async def create(self, *, name: str, description: str | None = None) -> Organization:
        """Create an organization.

        Raises:
            ConflictError: the name is taken in the account.
        """
        body = compact(name=name, description=description)
        return Organization.model_validate(await self._post("/v2/organizations", body=body))

    async def update(
        self,
        org_id: str,
        *,
        name: str | None = None,
        description: str | Unset | None = UNSET,
    ) -> Organization:
        """Rename an organization or change its description (`description=None` clears it)."""
        body = compact(name=name)
        if description is not UNSET:
            body["description"] = description
        if not body:
            raise ValueError("give name or description")
        data = await self._patch(f"/v2/organizations/{path_id(org_id)}", body=body)
        return Organization.model_validate(data)

    async def delete(self, org_id: str) -> None:
        """Delete an organization and everything it owns (spaces, projects, keys, ...)."""
        await self._delete(f"/v2/organizations/{path_id(org_id)}")

    async def add_user(
        self, org_id: str, *, user_id: str, role: OrgRole | str | RoleAssignment
    ) -> OrganizationMembership:
        """Add a user to an organization, or change their role if already a member."""
        data = await self._post(
            f"/v2/organizations/{path_id(org_id)}/users",
            body={"user_id": user_id, "role": role_body(role)},
            expected=(200,),
        )
        return OrganizationMembership.model_validate(data)

    async def remove_user(self, org_id: str, *, user_id: str) -> None:
        """Remove a user from an organization and from all of its spaces."""
        await self._delete(f"/v2/organizations/{path_id(org_id)}/users/{path_id(user_id)}")

    async def find_by_name(self, name: str) -> Organization | None:
        """The organization named exactly `name` (case-sensitive), or None."""
        async for org in self.list(name=name, limit=100):
            if org.name == name:
                return org
        return None
