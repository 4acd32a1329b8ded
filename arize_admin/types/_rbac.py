"""Projects, custom roles, role bindings, resource restrictions and audit logs."""

from __future__ import annotations

from datetime import datetime

from ._common import ArizeModel
from ._enums import (
    AuditLogOperationType,
    Permission,
    ProjectType,
    ResourceRestrictionType,
    RoleBindingResourceType,
)

__all__ = ["AuditLog", "Project", "ResourceRestriction", "Role", "RoleBinding"]


class Project(ArizeModel):
    """A project; its id is a `Model:` global id."""

    id: str
    name: str
    space_id: str
    created_at: datetime
    project_type: ProjectType | None = None


class Role(ArizeModel):
    """A role of the account: predefined (read-only) or custom."""

    id: str
    name: str
    description: str | None = None
    permissions: list[Permission] = []
    is_predefined: bool
    created_at: datetime
    updated_at: datetime


class RoleBinding(ArizeModel):
    """One role given to one user on one space or project."""

    id: str
    role_id: str
    user_id: str
    resource_type: RoleBindingResourceType
    resource_id: str
    created_at: datetime
    updated_at: datetime


class ResourceRestriction(ArizeModel):
    """A restricted resource; keyed by `resource_id` (there is no restriction id)."""

    resource_type: ResourceRestrictionType
    resource_id: str
    created_at: datetime


class AuditLog(ArizeModel):
    """One audited action of an authenticated user."""

    id: str
    user_id: str
    ip: str
    operation_type: AuditLogOperationType
    created_at: datetime
    operation_name: str | None = None
    operation_text: str | None = None
    variables: str | None = None
