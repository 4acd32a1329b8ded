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
