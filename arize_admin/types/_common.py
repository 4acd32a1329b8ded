"""Base model, role assignments and the Problem body shared by every resource."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ArizeModel",
    "CustomRole",
    "PredefinedRole",
    "Problem",
    "RoleAssignment",
    "coerce_role",
]


class ArizeModel(BaseModel):
    """Base of every response model: unknown fields from newer servers are kept, not rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class SecretBearingModel(BaseModel):
    """Base of models that carry a secret: unknown fields are dropped so none leaks into repr."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class PredefinedRole(ArizeModel):
    """A built-in role, e.g. `PredefinedRole(name="ADMIN")`.

    The same shape serves account, organization and space roles; `name` holds a value of
    `AccountRole`, `OrgRole` or `SpaceRole` accordingly.
    """

    type: Literal["PREDEFINED"] = "PREDEFINED"
    name: str


class CustomRole(ArizeModel):
    """A custom RBAC role, given by id; `name` is filled in by responses only."""

    type: Literal["CUSTOM"] = "CUSTOM"
    id: str
    name: str | None = None


RoleAssignment = Annotated[PredefinedRole | CustomRole, Field(discriminator="type")]
"""A role assignment as the API writes it: one of two shapes, told apart by `type`."""


def coerce_role(value: Any) -> Any:
    """Turn a bare role name (str or enum) into a predefined assignment; pass others through."""
    if isinstance(value, str):
        return PredefinedRole(name=str(value))
    return value


def role_body(role: PredefinedRole | CustomRole | str) -> dict[str, str]:
    """Serialize a role for a request; request forms reject the response-only CUSTOM `name`."""
    role = coerce_role(role)
    if isinstance(role, CustomRole):
        return {"type": "CUSTOM", "id": role.id}
    return {"type": "PREDEFINED", "name": str(role.name)}


class Problem(ArizeModel):
    """An RFC 9457 Problem Details body, as every error response carries."""

    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
