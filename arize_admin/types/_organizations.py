"""Organization and space models, with their membership records."""

from __future__ import annotations

from datetime import datetime

from ._common import ArizeModel, RoleAssignment

__all__ = [
    "DefaultAgentRuntime",
    "DefaultLlmIntegration",
    "Organization",
    "OrganizationMembership",
    "Space",
    "SpaceMembership",
]


class Organization(ArizeModel):
    """An organization: a group of spaces."""

    id: str
    name: str
    description: str = ""
    created_at: datetime


class OrganizationMembership(ArizeModel):
    """A user's membership in an organization."""

    id: str
    user_id: str
    organization_id: str
    role: RoleAssignment


class DefaultLlmIntegration(ArizeModel):
    """A space's default LLM integration."""

    integration_id: str
    model_name: str


class DefaultAgentRuntime(ArizeModel):
    """A space's default agent runtime."""

    integration_id: str


class Space(ArizeModel):
    """A space: the unit that holds projects, with its own members."""

    id: str
    name: str
    description: str = ""
    created_at: datetime
    is_private: bool = False
    organization_id: str | None = None
    default_llm_integration: DefaultLlmIntegration | None = None
    ml_models_enabled: bool | None = None
    gradient_start_color: str | None = None
    gradient_end_color: str | None = None
    default_agent_runtime: DefaultAgentRuntime | None = None


class SpaceMembership(ArizeModel):
    """A user's membership in a space."""

    id: str
    user_id: str
    space_id: str
    role: RoleAssignment
