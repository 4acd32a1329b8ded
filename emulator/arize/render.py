"""Wire shapes of the stored objects (the serialisation half of moto's ``responses.py``).

Field sets follow Arize's API reference and what the official SDK requires: every role assignment
carries ``type`` (and CUSTOM ones a ``name``), every API key carries ``key_type``, enums are
uppercase. Optional fields are omitted when empty rather than sent as null, except
``expires_at`` on keys, where null means "never expires".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from emulator.arize.models import (
    ApiKey,
    AuditLog,
    Organization,
    OrgMember,
    Project,
    Restriction,
    Role,
    RoleBinding,
    SamlIdentityProvider,
    SamlRoleMapping,
    Space,
    SpaceMember,
    User,
)
from emulator.arize.state import AccountState

__all__ = [
    "api_key",
    "audit_log",
    "created_api_key",
    "created_user",
    "iso",
    "org_membership",
    "organization",
    "project",
    "refreshed_api_key",
    "restriction",
    "role",
    "role_assignment",
    "role_binding",
    "saml_idp",
    "saml_idp_summary",
    "saml_mapping",
    "space",
    "space_membership",
    "user",
]


def iso(value: datetime | None) -> str | None:
    """Render a UTC datetime as ISO 8601 with a ``Z`` suffix."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def role_assignment(state: AccountState, assignment: dict[str, Any]) -> dict[str, Any]:
    """Render a role assignment; CUSTOM ones gain the role's ``name``."""
    if assignment.get("type") == "CUSTOM":
        out: dict[str, Any] = {"type": "CUSTOM", "id": assignment["id"]}
        name = state.role_name(assignment["id"])
        if name is not None:
            out["name"] = name
        return out
    return {"type": "PREDEFINED", "name": assignment["name"]}


def user(state: AccountState, u: User) -> dict[str, Any]:
    """Render a ``User``."""
    return {
        "id": u.id,
        "name": u.name,
        "email": u.email,
        "created_at": iso(u.created_at),
        "status": state.user_status(u),
        "role": role_assignment(state, u.role),
        "is_developer": u.is_developer,
    }


def created_user(
    state: AccountState, u: User, invite_mode: str, temporary_password: str | None
) -> dict[str, Any]:
    """Render a ``CreateUserResponse`` (the temporary password appears only here, once)."""
    out = user(state, u) | {"invite_mode": invite_mode}
    if temporary_password is not None:
        out["temporary_password"] = temporary_password
    return out


def organization(state: AccountState, o: Organization) -> dict[str, Any]:
    """Render an ``Organization``."""
    return {
        "id": o.id,
        "name": o.name,
        "description": o.description,
        "created_at": iso(o.created_at),
    }


def org_membership(state: AccountState, m: OrgMember) -> dict[str, Any]:
    """Render an ``OrganizationMembership``."""
    return {
        "id": m.id,
        "user_id": m.user_id,
        "organization_id": m.org_id,
        "role": role_assignment(state, m.role),
    }


def space(state: AccountState, s: Space) -> dict[str, Any]:
    """Render a ``Space``."""
    out: dict[str, Any] = {
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "created_at": iso(s.created_at),
        "is_private": s.is_private,
        "organization_id": s.org_id,
        "ml_models_enabled": s.ml_models_enabled,
        "gradient_start_color": s.gradient_start_color,
        "gradient_end_color": s.gradient_end_color,
    }
    if s.default_llm_integration is not None:
        out["default_llm_integration"] = s.default_llm_integration
    if s.default_agent_runtime is not None:
        out["default_agent_runtime"] = s.default_agent_runtime
    return out


def space_membership(state: AccountState, m: SpaceMember) -> dict[str, Any]:
    """Render a ``SpaceMembership``."""
    return {
        "id": m.id,
        "user_id": m.user_id,
        "space_id": m.space_id,
        "role": role_assignment(state, m.role),
    }


def project(state: AccountState, p: Project) -> dict[str, Any]:
    """Render a ``Project``."""
    return {
        "id": p.id,
        "name": p.name,
        "space_id": p.space_id,
        "created_at": iso(p.created_at),
        "project_type": p.project_type,
    }


def role(state: AccountState, r: Role) -> dict[str, Any]:
    """Render a ``Role`` (``description`` omitted when empty)."""
    out: dict[str, Any] = {
        "id": r.id,
        "name": r.name,
        "permissions": list(r.permissions),
        "is_predefined": r.is_predefined,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
    }
    if r.description:
        out["description"] = r.description
    return out


def role_binding(state: AccountState, b: RoleBinding) -> dict[str, Any]:
    """Render a ``RoleBinding``."""
    return {
        "id": b.id,
        "role_id": b.role_id,
        "user_id": b.user_id,
        "resource_type": b.resource_type,
        "resource_id": b.resource_id,
        "created_at": iso(b.created_at),
        "updated_at": iso(b.updated_at),
    }


def restriction(state: AccountState, r: Restriction) -> dict[str, Any]:
    """Render a ``ResourceRestriction`` (keyed by the resource; no id of its own)."""
    return {
        "resource_type": r.resource_type,
        "resource_id": r.resource_id,
        "created_at": iso(r.created_at),
    }


def _key_common(k: ApiKey) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": k.id,
        "name": k.name,
        "key_type": k.key_type,
        "status": k.status,
        "redacted_key": k.redacted_key,
        "created_at": iso(k.created_at),
        "expires_at": iso(k.expires_at),
        "created_by_user_id": k.created_by_user_id,
    }
    if k.description:
        out["description"] = k.description
    if k.last_used_at is not None:
        out["last_used_at"] = iso(k.last_used_at)
    return out


def _bot_user(state: AccountState, k: ApiKey, *, with_orgs: bool) -> dict[str, Any]:
    bot = state.users.get(k.user_id)
    if bot is None:
        return {
            "id": k.user_id,
            "name": "",
            "account_role": {"type": "PREDEFINED", "name": "MEMBER"},
            "organizations": [],
        }
    organizations = []
    if with_orgs:
        for m in state.org_memberships_of(bot.id):
            spaces = [
                {"space_id": sm.space_id, "role": role_assignment(state, sm.role)}
                for sm in state.space_memberships_of(bot.id)
                if sm.space_id in state.spaces
                and state.spaces[sm.space_id].org_id == m.org_id
            ]
            organizations.append(
                {"org_id": m.org_id, "role": role_assignment(state, m.role), "spaces": spaces}
            )
    return {
        "id": bot.id,
        "name": bot.name,
        "account_role": role_assignment(state, bot.role),
        "organizations": organizations,
    }


def api_key(state: AccountState, k: ApiKey, *, space_filtered: bool = False) -> dict[str, Any]:
    """Render a list item: ``UserApiKey`` or ``ServiceApiKey`` (with ``bot_user``)."""
    out = _key_common(k)
    if k.key_type == "SERVICE":
        out["bot_user"] = _bot_user(state, k, with_orgs=not space_filtered)
    return out


def created_api_key(state: AccountState, k: ApiKey, raw: str) -> dict[str, Any]:
    """Render ``CreatedUserApiKey`` / ``CreatedServiceApiKey``: the only time ``key`` is shown."""
    return api_key(state, k) | {"key": raw}


def refreshed_api_key(state: AccountState, k: ApiKey, raw: str) -> dict[str, Any]:
    """Render ``RefreshApiKeyResponse``: common fields and the new ``key``, no ``bot_user``."""
    return _key_common(k) | {"key": raw}


def audit_log(state: AccountState, log: AuditLog) -> dict[str, Any]:
    """Render an ``AuditLog``."""
    return {
        "id": log.id,
        "user_id": log.user_id,
        "ip": log.ip,
        "operation_type": log.operation_type,
        "created_at": iso(log.created_at),
        "operation_name": log.operation_name,
        "operation_text": log.operation_text,
        "variables": log.variables,
    }


def saml_mapping(
    state: AccountState, m: SamlRoleMapping, position: int | None = None
) -> dict[str, Any]:
    """Render a SAML role mapping; ``position`` is its 0-based place in configuration order."""
    out: dict[str, Any] = {
        "id": m.id,
        "idp_id": m.idp_id,
        "position": state.saml_mapping_position(m) if position is None else position,
        "attribute_name": m.attribute_name,
        "attribute_value": m.attribute_value,
        "created_at": iso(m.created_at),
        "updated_at": iso(m.updated_at),
    }
    if m.account_role is not None:
        out["account_role"] = m.account_role
    if m.space_id is not None and m.space_role is not None:
        out["space_id"] = m.space_id
        out["space_role"] = role_assignment(state, m.space_role)
    if m.project_id is not None:
        out["project_id"] = m.project_id
        out["project_role_id"] = m.project_role_id
    return out


def saml_idp_summary(state: AccountState, idp: SamlIdentityProvider) -> dict[str, Any]:
    """Render a configuration as lists show it: no metadata, no role mappings."""
    return {
        "id": idp.id,
        "name": idp.name,
        "entity_id": idp.entity_id,
        "email_domains": list(idp.email_domains),
        "default_login_enabled": idp.default_login_enabled,
        "sync_user_roles": idp.sync_user_roles,
        "is_managed_by_file": idp.file_managed,
        "created_at": iso(idp.created_at),
        "updated_at": iso(idp.updated_at),
    }


def saml_idp(state: AccountState, idp: SamlIdentityProvider) -> dict[str, Any]:
    """Render a whole configuration: metadata source, defaults and mappings in order."""
    out = saml_idp_summary(state, idp)
    if idp.metadata_url is not None:
        out["metadata_url"] = idp.metadata_url
    if idp.metadata_xml is not None:
        out["metadata_xml"] = idp.metadata_xml
    if idp.default_login_enabled:
        out["default_account_role"] = idp.default_account_role
        out["default_organization_id"] = idp.default_organization_id
        out["default_space_id"] = idp.default_space_id
        out["default_space_role"] = idp.default_space_role
    out["role_mappings"] = [
        saml_mapping(state, m, i) for i, m in enumerate(state.saml_mappings_of(idp.id))
    ]
    return out
