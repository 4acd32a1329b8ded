"""`client.saml_identity_providers`: SAML configurations and their ordered role mappings.

Alpha in Arize: the API may change without notice. Every call needs an Enterprise account and
an account-admin key (`PermissionDeniedError` otherwise). File-managed configurations are
read-only through the API (`ConflictError`, naming the migration path), and a mapping change
that would remove the last login or admin mapping is refused with `ConflictError`, leaving the
configuration as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

from .._pagination import AsyncPaginator
from .._resource import UNSET, AsyncAPIResource, Unset, compact, path_id
from ..types import (
    AccountRole,
    CustomRole,
    PredefinedRole,
    SamlIdentityProvider,
    SamlIdentityProviderSummary,
    SamlRoleMapping,
    SamlRoleMappingRule,
    SpaceRole,
)
from ..types._common import role_body

__all__ = ["SamlIdentityProviders", "SamlRoleMappings"]

_PATH = "/v2/saml-identity-providers"


def _one_source(metadata_url: str | None, metadata_xml: str | None) -> None:
    if (metadata_url is None) == (metadata_xml is None):
        raise ValueError("give exactly one of metadata_url or metadata_xml")


class SamlRoleMappings(AsyncAPIResource):
    """`client.saml_identity_providers.role_mappings`: one configuration's rules, in order."""

    def list(self, idp_id: str, *, limit: int | None = None) -> AsyncPaginator[SamlRoleMapping]:
        """List a configuration's mappings in configuration order (first match matters)."""
        return self._list(
            f"{_PATH}/{path_id(idp_id)}/role-mappings",
            item_key="role_mappings",
            parse=SamlRoleMapping.model_validate,
            limit=limit,
        )

    async def create(self, idp_id: str, rule: SamlRoleMappingRule) -> SamlRoleMapping:
        """Add a mapping at the end of the configuration's order.

        Not retried on a lost answer (a POST): list the mappings to see whether it landed.
        """
        data = await self._post(f"{_PATH}/{path_id(idp_id)}/role-mappings", body=rule.body())
        return SamlRoleMapping.model_validate(data)

    async def update(
        self,
        idp_id: str,
        mapping_id: str,
        *,
        attribute_name: str | None = None,
        attribute_value: str | None = None,
        account_role: AccountRole | str | Unset | None = UNSET,
        space: tuple[str, PredefinedRole | CustomRole | SpaceRole | str] | Unset | None = UNSET,
        project: tuple[str, str] | Unset | None = UNSET,
    ) -> SamlRoleMapping:
        """Change the given fields of a mapping; it keeps its position.

        Args:
            account_role: the account role granted; None removes it.
            space: `(space_id, role)` granted; None removes the space grant.
            project: `(project_id, role_id)` granted; None removes the project grant.
        """
        body: dict[str, Any] = compact(
            attribute_name=attribute_name, attribute_value=attribute_value
        )
        if account_role is not UNSET:
            body["account_role"] = None if account_role is None else AccountRole(account_role).value
        if space is not UNSET:
            body["space_id"] = None if space is None else space[0]
            body["space_role"] = None if space is None else role_body(space[1])
        if project is not UNSET:
            body["project_id"] = None if project is None else project[0]
            body["project_role_id"] = None if project is None else project[1]
        if not body:
            raise ValueError("give at least one field to change")
        path = f"{_PATH}/{path_id(idp_id)}/role-mappings/{path_id(mapping_id)}"
        return SamlRoleMapping.model_validate(await self._patch(path, body=body))

    async def delete(self, idp_id: str, mapping_id: str) -> None:
        """Remove a mapping (not the last login or admin mapping: `ConflictError`)."""
        await self._delete(f"{_PATH}/{path_id(idp_id)}/role-mappings/{path_id(mapping_id)}")


class SamlIdentityProviders(AsyncAPIResource):
    """SAML single sign-on configurations of the account (alpha)."""

    @cached_property
    def role_mappings(self) -> SamlRoleMappings:
        return SamlRoleMappings(self._client)

    def list(self, *, limit: int | None = None) -> AsyncPaginator[SamlIdentityProviderSummary]:
        """List configurations (summaries: use `get` for metadata and mappings)."""
        return self._list(
            _PATH,
            item_key="saml_identity_providers",
            parse=SamlIdentityProviderSummary.model_validate,
            limit=limit,
        )

    async def get(self, idp_id: str) -> SamlIdentityProvider:
        """One whole configuration, its mappings in configuration order."""
        return SamlIdentityProvider.model_validate(await self._get(f"{_PATH}/{path_id(idp_id)}"))

    async def create(
        self,
        *,
        name: str,
        email_domains: Iterable[str],
        metadata_url: str | None = None,
        metadata_xml: str | None = None,
        default_login: tuple[AccountRole | str, str, str, SpaceRole | str] | None = None,
        sync_user_roles: bool = False,
        role_mappings: Iterable[SamlRoleMappingRule] = (),
    ) -> SamlIdentityProvider:
        """Create a configuration from exactly one metadata source.

        Args:
            default_login: `(account_role, organization_id, space_id, space_role)` given to
                users no mapping matches; None turns default login off, and then
                `role_mappings` must let someone log in (grant an account role).
            sync_user_roles: whether a user's stored roles follow the mappings at each login.

        Raises:
            BadRequestError: the metadata is invalid or its URL cannot be reached.
            ConflictError: another configuration claims one of the email domains.
        """
        _one_source(metadata_url, metadata_xml)
        body = compact(
            name=name,
            metadata_url=metadata_url,
            metadata_xml=metadata_xml,
            email_domains=list(email_domains),
            default_login_enabled=default_login is not None,
            sync_user_roles=sync_user_roles,
        )
        if default_login is not None:
            account_role, org_id, space_id, space_role = default_login
            body |= {
                "default_account_role": AccountRole(account_role).value,
                "default_organization_id": org_id,
                "default_space_id": space_id,
                "default_space_role": SpaceRole(space_role).value,
            }
        rules = [rule.body() for rule in role_mappings]
        if rules:
            body["role_mappings"] = rules
        return SamlIdentityProvider.model_validate(await self._post(_PATH, body=body))

    async def update(
        self,
        idp_id: str,
        *,
        name: str | None = None,
        email_domains: Iterable[str] | None = None,
        metadata_url: str | None = None,
        metadata_xml: str | None = None,
        default_login: tuple[AccountRole | str, str, str, SpaceRole | str] | Unset | None = UNSET,
        sync_user_roles: bool | None = None,
    ) -> SamlIdentityProvider:
        """Change the given fields; `default_login=None` turns default login off."""
        if metadata_url is not None and metadata_xml is not None:
            raise ValueError("give at most one of metadata_url or metadata_xml")
        body = compact(
            name=name,
            email_domains=None if email_domains is None else list(email_domains),
            metadata_url=metadata_url,
            metadata_xml=metadata_xml,
            sync_user_roles=sync_user_roles,
        )
        if default_login is None:
            body["default_login_enabled"] = False
        elif default_login is not UNSET:
            account_role, org_id, space_id, space_role = default_login
            body |= {
                "default_login_enabled": True,
                "default_account_role": AccountRole(account_role).value,
                "default_organization_id": org_id,
                "default_space_id": space_id,
                "default_space_role": SpaceRole(space_role).value,
            }
        if not body:
            raise ValueError("give at least one field to change")
        data = await self._patch(f"{_PATH}/{path_id(idp_id)}", body=body)
        return SamlIdentityProvider.model_validate(data)

    async def delete(self, idp_id: str) -> None:
        """Delete a configuration with its mappings (file-managed ones: `ConflictError`)."""
        await self._delete(f"{_PATH}/{path_id(idp_id)}")

    async def find_by_name(self, name: str) -> SamlIdentityProviderSummary | None:
        """The configuration named exactly `name`, or None."""
        async for idp in self.list(limit=100):
            if idp.name == name:
                return idp
        return None
