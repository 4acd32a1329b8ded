"""`client.api_keys`: user and service API keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import TypeAdapter

from .._pagination import AsyncPaginator
from .._resource import AsyncAPIResource, compact, path_id
from ..types import (
    AccountRole,
    ApiKey,
    ApiKeyStatus,
    ApiKeyType,
    CreatedServiceApiKey,
    CreatedUserApiKey,
    RefreshedApiKey,
    RoleAssignment,
    ServiceKeyOrgAssignment,
)
from ..types._common import role_body

__all__ = ["ApiKeys"]

_api_key_adapter: TypeAdapter[ApiKey] = TypeAdapter(ApiKey)


def _org_body(org: ServiceKeyOrgAssignment) -> dict[str, object]:
    if not org.spaces:
        raise ValueError(f"organization {org.org_id} needs at least one space")
    spaces = [
        {"space_id": s.space_id, **({"role": role_body(s.role)} if s.role else {})}
        for s in org.spaces
    ]
    return {
        "org_id": org.org_id,
        **({"role": role_body(org.role)} if org.role else {}),
        "spaces": spaces,
    }


class ApiKeys(AsyncAPIResource):
    """API keys. A new secret is returned once, as `key: SecretStr`; lists show `redacted_key`."""

    def list(
        self,
        *,
        key_type: ApiKeyType | None = None,
        status: ApiKeyStatus | None = None,
        space_id: str | None = None,
        user_id: str | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[ApiKey]:
        """List keys: by default the caller's own active user keys.

        Args:
            key_type: `USER` or `SERVICE`; a `space_id` alone implies `SERVICE`.
            status: `ACTIVE` (server default) or `REVOKED`.
            space_id: the service keys of this space.
            user_id: keys created by this user (another user's: account admins only).
            limit: page size, 1..100.
        """
        return self._list(
            "/v2/api-keys",
            item_key="api_keys",
            parse=_api_key_adapter.validate_python,
            key_type=key_type,
            status=status,
            space_id=space_id,
            user_id=user_id,
            limit=limit,
        )

    async def create_user_key(
        self, *, name: str, description: str | None = None, expires_at: datetime | None = None
    ) -> CreatedUserApiKey:
        """Create a personal key acting as the caller."""
        body = compact(key_type="USER", name=name, description=description, expires_at=expires_at)
        return CreatedUserApiKey.model_validate(await self._post("/v2/api-keys", body=body))

    async def create_service_key(
        self,
        *,
        name: str,
        organizations: Sequence[ServiceKeyOrgAssignment],
        account_role: AccountRole | str | RoleAssignment | None = None,
        description: str | None = None,
        expires_at: datetime | None = None,
    ) -> CreatedServiceApiKey:
        """Create a service key; a bot user is provisioned with the given org and space roles.

        Args:
            name: key name.
            organizations: where the bot user gets access; each with at least one space.
            account_role: predefined account role of the bot user (server default MEMBER).
            description: free text.
            expires_at: expiry; None for the account's default.
        """
        if not organizations:
            raise ValueError("a service key needs at least one organization")
        body = compact(
            key_type="SERVICE",
            name=name,
            description=description,
            expires_at=expires_at,
            account_role=None if account_role is None else role_body(account_role),
            organizations=[_org_body(org) for org in organizations],
        )
        return CreatedServiceApiKey.model_validate(await self._post("/v2/api-keys", body=body))

    async def refresh(
        self,
        api_key_id: str,
        *,
        expires_at: datetime | None = None,
        grace_period_seconds: int | None = None,
    ) -> RefreshedApiKey:
        """Replace a key's secret, keeping its id; the old secret lapses after the grace period.

        Raises:
            UnprocessableEntityError: the key has an expiry and `expires_at` is missing or later.
        """
        body = compact(expires_at=expires_at, grace_period_seconds=grace_period_seconds)
        data = await self._post(
            f"/v2/api-keys/{path_id(api_key_id)}/refresh", body=body, expected=(200,)
        )
        return RefreshedApiKey.model_validate(data)

    async def revoke(self, api_key_id: str) -> None:
        """Revoke a key at once; revoking twice is a no-op."""
        await self._put(f"/v2/api-keys/{path_id(api_key_id)}/revoke")
