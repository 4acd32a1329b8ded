"""The restrict-project spec; its field descriptions become the Prefect UI's run form."""

from __future__ import annotations

from pydantic import EmailStr, Field, model_validator

from core.planning.specs import (
    SpecModel,
    require_unique,
)


class AllowedUser(SpecModel):
    """Someone who keeps access to a restricted project."""

    email: EmailStr = Field(description="The user's email.")
    role: str = Field(min_length=1, description="Custom role bound on the project, by name.")


class RestrictProjectSpec(SpecModel):
    """A project to restrict to named people."""

    space: str = Field(min_length=1, description="The project's space, by exact name.")
    project: str = Field(min_length=1, description="Project name (in that space) or project id.")
    allowed: list[AllowedUser] = Field(min_length=1, description="Who keeps access, and how.")
    organization: str | None = Field(
        default=None, description="Organization, when the space name is not unique."
    )

    @model_validator(mode="after")
    def _unique_people(self) -> RestrictProjectSpec:
        require_unique("allowed", [a.email.lower() for a in self.allowed])
        return self
