"""A simulated SAML login: what Arize does with a configuration's mappings when a user signs in.

Tests cannot drive a real IdP, so the control plane says "user X logs in with attributes A"
and this module applies the matching configuration's mappings as Arize documents:

- the configuration is the one claiming the email's domain;
- a mapping matches when the assertion carries its ``attribute_name`` with its
  ``attribute_value``;
- account role and built-in space roles: the most permissive matching role wins;
- custom space roles and project roles: the first matching rule for each space or project wins,
  in configuration order; where a custom and a built-in space rule both match a space, the
  custom one (first match) wins, since a user holds one role per space;
- no matching mapping: the four defaults when default login is on, otherwise the login fails;
- a new user is created with the roles; an existing user's stored roles change only when the
  configuration has ``sync_user_roles`` (and then are replaced: spaces and projects no rule
  grants any more are removed). Sessions and API keys are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.arize.errors import Forbidden, NotFound
from emulator.arize.models import SamlIdentityProvider, SamlRoleMapping, User, utcnow
from emulator.arize.resources.saml_identity_providers import (
    ACCOUNT_ROLE_LEVEL,
    SPACE_ROLE_LEVEL,
    SamlIdentityProviders,
)
from emulator.arize.store import predefined

__all__ = ["SamlGrant", "SamlLogin"]


@dataclass
class SamlGrant:
    """The roles one login gives: account role, a role per space, a role id per project."""

    account_role: str
    spaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    projects: dict[str, str] = field(default_factory=dict)


def _matches(mapping: SamlRoleMapping, attributes: dict[str, list[str]]) -> bool:
    return mapping.attribute_value in attributes.get(mapping.attribute_name, ())


def evaluate(
    idp: SamlIdentityProvider, mappings: list[SamlRoleMapping], attributes: dict[str, list[str]]
) -> SamlGrant | None:
    """The roles ``attributes`` earn under ``mappings`` (in order); None: login refused."""
    matched = [m for m in mappings if _matches(m, attributes)]
    account = [m.account_role for m in matched if m.account_role]
    if not account:
        if not idp.default_login_enabled:
            return None
        return SamlGrant(
            account_role=str(idp.default_account_role),
            spaces={str(idp.default_space_id): predefined(str(idp.default_space_role))},
        )
    grant = SamlGrant(account_role=max(account, key=ACCOUNT_ROLE_LEVEL.__getitem__))
    custom: dict[str, dict[str, Any]] = {}
    builtin: dict[str, str] = {}
    for m in matched:
        if m.space_id is not None and m.space_role is not None:
            if m.space_role.get("type") == "CUSTOM":
                custom.setdefault(m.space_id, m.space_role)  # first match wins
            else:
                name = str(m.space_role.get("name"))
                best = builtin.get(m.space_id)
                if best is None or SPACE_ROLE_LEVEL[name] > SPACE_ROLE_LEVEL[best]:
                    builtin[m.space_id] = name  # most permissive wins
        if m.project_id is not None and m.project_role_id is not None:
            grant.projects.setdefault(m.project_id, m.project_role_id)  # first match wins
    for space_id, name in builtin.items():
        grant.spaces[space_id] = predefined(name)
    grant.spaces.update(custom)
    return grant


class SamlLogin(SamlIdentityProviders):
    """The control plane's "user X logs in via SAML" and its effect on stored roles."""

    def _idp_for_email(self, email: str) -> SamlIdentityProvider:
        domain = email.rsplit("@", 1)[-1].lower()
        for idp in self.saml_idps.values():
            if domain in idp.email_domains:
                return idp
        raise NotFound(f"No SAML identity provider claims the domain '{domain}'.")

    def saml_login(
        self, *, email: str, attributes: dict[str, list[str]], name: str | None = None
    ) -> dict[str, Any]:
        """Log ``email`` in with SAML ``attributes``; apply the mappings as Arize would.

        Returns:
            What happened: the user, whether it was created, whether stored roles were
            written, and the roles the mappings give.

        Raises:
            NotFound: no configuration claims the email's domain.
            Forbidden: no mapping matches and default login is off, or the user was deleted.
        """
        with self.lock:
            idp = self._idp_for_email(email)
            grant = evaluate(idp, self.saml_mappings_of(idp.id), attributes)
            if grant is None:
                raise Forbidden(
                    "SAML login refused: no role mapping matches and default login is off."
                )
            grant = self._existing_targets(grant)
            user = next(
                (u for u in self.users.values() if u.email.lower() == email.lower()
                 and not u.is_bot),
                None,
            )
            if user is not None and user.status == "DELETED":
                raise Forbidden(f"User '{email}' was deleted.")
            created = user is None
            if user is None:
                user = self.add_user(
                    name=name or email.split("@")[0], email=email, role=grant.account_role
                )
            elif user.status != "ACTIVE":
                user.status, user.invited_at = "ACTIVE", None
            applied = created or idp.sync_user_roles
            if applied:
                self._apply_grant(user, grant)
            self.changed()
            return {
                "user_id": user.id,
                "idp_id": idp.id,
                "created": created,
                "roles_applied": applied,
                "account_role": grant.account_role,
                "spaces": grant.spaces,
                "projects": grant.projects,
            }

    def _existing_targets(self, grant: SamlGrant) -> SamlGrant:
        """Drop grants on spaces, projects or roles deleted since the mapping was written."""

        def role_alive(role_id: str) -> bool:
            role = self.roles.get(role_id)
            return role is not None and not role.deleted

        spaces = {
            space_id: role
            for space_id, role in grant.spaces.items()
            if space_id in self.spaces
            and (role.get("type") != "CUSTOM" or role_alive(str(role.get("id"))))
        }
        projects = {
            project_id: role_id
            for project_id, role_id in grant.projects.items()
            if project_id in self.projects and role_alive(role_id)
        }
        return SamlGrant(account_role=grant.account_role, spaces=spaces, projects=projects)

    def _apply_grant(self, user: User, grant: SamlGrant) -> None:
        """Replace the user's stored account, space and project roles with ``grant``."""
        user.role = predefined(grant.account_role)
        org_role = predefined("ANNOTATOR" if grant.account_role == "ANNOTATOR" else "MEMBER")
        for space_id, role in grant.spaces.items():
            space = self.spaces[space_id]
            if self.org_membership(user.id, space.org_id) is None:
                self._upsert_org_member(user, self.orgs[space.org_id], org_role)
            self._upsert_space_member(user, space, role)
        for membership in self.space_memberships_of(user.id):
            if membership.space_id not in grant.spaces:
                self._remove_from_space(user, self.spaces[membership.space_id])
        now = utcnow()
        for binding in self.user_bindings(user.id):
            if binding.resource_type == "PROJECT" and binding.resource_id not in grant.projects:
                del self.bindings[binding.id]
        for project_id, role_id in grant.projects.items():
            existing = self.binding_on(user.id, project_id)
            if existing is not None:
                if existing.role_id != role_id:
                    existing.role_id, existing.updated_at = role_id, now
                continue
            self.add_binding(user.id, role_id, "PROJECT", project_id, when=now)
