"""The offboard-user spec; its field descriptions become the Prefect UI's run form."""

from __future__ import annotations

from pydantic import EmailStr, Field, model_validator

from core.planning.specs import (
    SpecModel,
)


class OffboardUserSpec(SpecModel):
    """A leaver to offboard."""

    email: EmailStr | None = Field(default=None, description="The leaver's email.")
    user_id: str | None = Field(default=None, description="Or their Arize user id.")
    reason: str = Field(min_length=1, max_length=500, description="Why, for the audit record.")
    ticket: str | None = Field(default=None, description="HR or ticket reference.")
    revoke_service_keys: bool = Field(
        default=False,
        description="Also revoke service keys they created (default: reported, kept).",
    )
    keep_account: bool = Field(
        default=False,
        description="Take away every binding, membership and personal key but keep the emptied "
        "account, so the person can be reactivated (an identity provider's deactivation). "
        "Arize cannot re-invite a deleted user: off deletes the account for good.",
    )
    idp_groups: list[str] = Field(
        default_factory=list,
        description="The person's identity-provider groups as they leave (SCIM fills it in); "
        "kept in the access snapshot, so a reactivation can leave out a group left since.",
    )
    audit_dir: str | None = Field(
        default=None,
        description="Directory for the JSON audit record; none: the Prefect artifact only.",
    )

    @model_validator(mode="after")
    def _who(self) -> OffboardUserSpec:
        if not (self.email or self.user_id):
            raise ValueError("give email or user_id: who is leaving?")
        return self
