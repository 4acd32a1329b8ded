"""The update-user-profile spec; its field descriptions become the Prefect UI's run form."""

from __future__ import annotations

from pydantic import EmailStr, Field, field_validator

from core.planning.specs import SpecModel


class UpdateUserProfileSpec(SpecModel):
    """Whose Arize profile to change, and to what."""

    email: EmailStr = Field(description="The user, by the e-mail Arize knows them by.")
    name: str = Field(
        min_length=1, max_length=255, description="The display name Arize should show."
    )
    reason: str = Field(
        default="profile changed in the identity provider", max_length=500,
        description="Why, for the report.",
    )

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        # Arize trims the name and answers 400 to a blank one: say so here, naming the field.
        value = value.strip()
        if not value:
            raise ValueError("name is blank; give the display name to set")
        return value
