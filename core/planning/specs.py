"""Runbook specs: one pydantic model per runbook; field descriptions become the Prefect UI form.

Shape errors (a malformed email, an unknown permission, an annotator given an admin org role)
fail here, before planning; names that must exist in Arize are checked by the plan, which raises
``SpecError`` naming the field. Either way nothing has changed yet.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from arize_admin import Permission

PREDEFINED_SPACE_ROLES = ("ADMIN", "MEMBER", "READ_ONLY", "ANNOTATOR")

AccountRoleName = Literal["ADMIN", "MEMBER", "ANNOTATOR"]
OrgRoleName = Literal["ADMIN", "MEMBER", "READ_ONLY", "ANNOTATOR"]
ServiceSpaceRoleName = Literal["ADMIN", "MEMBER", "READ_ONLY"]


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomRoleSpec(SpecModel):
    """A custom role as code: its exact permission set."""

    name: str = Field(min_length=1, max_length=255, description="Role name, unique in the account.")
    permissions: list[Permission] = Field(
        min_length=1, description="The complete permission set; anything else is removed."
    )
    description: str = Field(default="", max_length=1000, description="Shown in Arize.")


def require_unique(field: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{field}: {value!r} appears twice; list each once")
        seen.add(value)
