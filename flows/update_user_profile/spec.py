"""The update-user-profile spec; its field descriptions become the Prefect UI's run form."""

from __future__ import annotations

from pydantic import EmailStr, Field

from core.planning.specs import SpecModel


class UpdateUserProfileSpec(SpecModel):
    """Whose Arize profile to change, and to what."""

    email: EmailStr = Field(description="The user, by the e-mail Arize knows them by.")
    # Specs strip whitespace, so a blank name fails min_length, naming the field (Arize would
    # answer 400 to it).
    name: str = Field(
        min_length=1, max_length=255, description="The display name Arize should show."
    )
    reason: str = Field(
        default="profile changed in the identity provider", max_length=500,
        description="Why, for the report.",
    )
