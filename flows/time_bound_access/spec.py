"""The grant-temporary-access spec; its field descriptions become the Prefect UI's run form."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import EmailStr, Field, WithJsonSchema

from core.planning.specs import SpecModel

LONGEST_GRANT = timedelta(days=30)
"""No temporary grant, however the access policy is set, lasts longer: that is standing access."""

Duration = Annotated[
    timedelta,
    # pydantic describes a timedelta as an ISO 8601 string only, and the Prefect server enforces
    # that schema on every run it creates: seconds would be refused there although the model
    # (and the description) accept them. The schema says what the model accepts.
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0,
                 "maximum": LONGEST_GRANT.total_seconds()},
                {"type": "string", "format": "duration"},
            ]
        }
    ),
]


class GrantTemporaryAccessSpec(SpecModel):
    """Who gets which role where, for how long, and why."""

    email: EmailStr = Field(description="The person who gets the access (an Arize user).")
    role: str = Field(
        min_length=1,
        max_length=255,
        description="A custom role by exact name, or a predefined one: MEMBER, READ_ONLY, "
        "ANNOTATOR (ADMIN only if the access policy allows it).",
    )
    space: str = Field(min_length=1, max_length=255, description="The space, by exact name.")
    project: str | None = Field(
        default=None,
        max_length=255,
        description="A project in that space, by exact name or id: the grant is on the project "
        "only. Empty: the grant is on the whole space.",
    )
    duration: Duration = Field(
        gt=timedelta(0),
        le=LONGEST_GRANT,
        description="How long the access lasts from the moment it is granted: seconds (14400) "
        "or ISO 8601 (PT4H). At most the access policy's maximum (and never over 30 days).",
    )
    reason: str = Field(
        min_length=3, max_length=500, description="Why the access is needed, for the approver."
    )
    ticket: str | None = Field(default=None, max_length=100, description="Ticket key, if any.")
    organization: str | None = Field(
        default=None, description="Organization, when the space name is not unique."
    )

    @property
    def resource(self) -> str:
        """The space or space/project, in words."""
        return f"{self.space}/{self.project}" if self.project else self.space


def describe_duration(duration: timedelta) -> str:
    """``4h``, ``90m``, ``45s``: the largest whole unit."""
    seconds = int(duration.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"
