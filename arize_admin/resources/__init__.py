"""Resource groups of `AsyncArizeAdmin`, one per API area."""

from .api_keys import ApiKeys
from .audit_logs import AuditLogs
from .organizations import Organizations
from .projects import Projects
from .resource_restrictions import ResourceRestrictions
from .role_bindings import RoleBindings
from .roles import Roles
from .saml_identity_providers import SamlIdentityProviders, SamlRoleMappings
from .spaces import Spaces
from .users import Users

__all__ = [
    "ApiKeys",
    "AuditLogs",
    "Organizations",
    "Projects",
    "ResourceRestrictions",
    "RoleBindings",
    "Roles",
    "SamlIdentityProviders",
    "SamlRoleMappings",
    "Spaces",
    "Users",
]
