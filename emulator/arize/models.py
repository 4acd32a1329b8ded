"""Plain stored objects of the emulated account (moto's ``models.py`` data half).

Every object is a dataclass of JSON-friendly fields (strings, numbers, bools, datetimes,
lists and dicts of those), so :mod:`emulator.arize.persistence` can snapshot the whole
account without per-class code. Role assignments are stored as the wire dicts
``{"type": "PREDEFINED", "name": "ADMIN"}`` or ``{"type": "CUSTOM", "id": "<role id>"}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ApiKey",
    "AuditLog",
    "KeySecret",
    "OrgMember",
    "Organization",
    "Project",
    "Restriction",
    "Role",
    "RoleBinding",
    "SamlIdentityProvider",
    "SamlRoleMapping",
    "Space",
    "SpaceMember",
    "User",
    "utcnow",
]


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass
class User:
    """A user of the account; ``status`` adds the terminal ``DELETED`` to UserStatus."""

    id: str
    n: int
    name: str
    email: str
    created_at: datetime
    status: str
    role: dict[str, Any]
    is_developer: bool = True
    is_bot: bool = False
    invited_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass
class Organization:
    """An organization of the account."""

    id: str
    n: int
    name: str
    description: str
    created_at: datetime


@dataclass
class OrgMember:
    """A user's membership (with its predefined role) in an organization."""

    id: str
    n: int
    user_id: str
    org_id: str
    role: dict[str, Any]


@dataclass
class Space:
    """A space of an organization."""

    id: str
    n: int
    org_id: str
    name: str
    description: str
    created_at: datetime
    is_private: bool = False
    default_llm_integration: dict[str, Any] | None = None
    ml_models_enabled: bool = True
    gradient_start_color: str = "#4f46e5"
    gradient_end_color: str = "#06b6d4"
    default_agent_runtime: dict[str, Any] | None = None


@dataclass
class SpaceMember:
    """A user's membership in a space (the legacy ``SpaceMembers`` row)."""

    id: str
    n: int
    user_id: str
    space_id: str
    role: dict[str, Any]


@dataclass
class Project:
    """A project (a ``Model:`` global id) in a space."""

    id: str
    n: int
    space_id: str
    name: str
    created_at: datetime
    project_type: str | None = "APPLICATION"


@dataclass
class Role:
    """An RBAC role: predefined (``predefined_name`` set) or custom."""

    id: str
    n: int
    name: str
    description: str | None
    permissions: list[str]
    is_predefined: bool
    created_at: datetime
    updated_at: datetime
    predefined_name: str | None = None
    deleted: bool = False


@dataclass
class RoleBinding:
    """One role for one user on one SPACE or PROJECT."""

    id: str
    n: int
    role_id: str
    user_id: str
    resource_type: str
    resource_id: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Restriction:
    """A restricted resource, keyed by the resource's id."""

    resource_id: str
    resource_type: str
    created_at: datetime
    n: int = 0


@dataclass
class KeySecret:
    """One accepted secret (by sha256) of an API key; ``valid_until`` bounds a grace period."""

    key_id: str
    valid_until: datetime | None = None


@dataclass
class ApiKey:
    """A USER or SERVICE API key; ``user_id`` is who it authenticates as (owner or bot)."""

    id: str
    n: int
    name: str
    description: str | None
    key_type: str
    status: str
    redacted_key: str
    created_at: datetime
    created_by_user_id: str
    user_id: str
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass
class AuditLog:
    """One audit-log entry for a mutation."""

    id: str
    n: int
    user_id: str
    ip: str
    operation_type: str
    created_at: datetime
    operation_name: str | None = None
    operation_text: str | None = None
    variables: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SamlIdentityProvider:
    """A SAML single sign-on configuration of the account (alpha API).

    Exactly one of ``metadata_url`` and ``metadata_xml`` is set. The four ``default_*``
    fields are set together, and only while ``default_login_enabled``. ``file_managed``
    configurations come from the deployment's config file and are read-only through the API.
    """

    id: str
    n: int
    name: str
    entity_id: str
    email_domains: list[str]
    default_login_enabled: bool
    sync_user_roles: bool
    created_at: datetime
    updated_at: datetime
    metadata_url: str | None = None
    metadata_xml: str | None = None
    default_account_role: str | None = None
    default_organization_id: str | None = None
    default_space_id: str | None = None
    default_space_role: str | None = None
    file_managed: bool = False


@dataclass
class SamlRoleMapping:
    """One rule of a configuration: a SAML attribute value and the roles it grants.

    Rules are kept in configuration order, which is creation order (an update keeps its
    place). ``space_role`` is a stored role assignment (PREDEFINED name or CUSTOM id);
    ``project_role_id`` a custom role's id.
    """

    id: str
    n: int
    idp_id: str
    attribute_name: str
    attribute_value: str
    created_at: datetime
    updated_at: datetime
    account_role: str | None = None
    space_id: str | None = None
    space_role: dict[str, Any] | None = None
    project_id: str | None = None
    project_role_id: str | None = None
