"""The restore-user spec; its field descriptions become the Prefect UI's run form."""

from __future__ import annotations

from pydantic import EmailStr, Field

from arize_admin import InviteMode
from core.planning.specs import AccountRoleName, SpecModel


class RestoreUserSpec(SpecModel):
    """A person coming back: give them what they had when they left, minus what was revoked."""

    email: EmailStr = Field(description="The returning person's e-mail.")
    name: str = Field(
        default="", max_length=255, description="Display name, for an invitation if needed."
    )
    groups: list[str] | None = Field(
        default=None,
        description="Their identity-provider groups now (SCIM fills it in). A grant a group "
        "they have left since gave them is not restored; empty: no group check.",
    )
    require_approval: bool = Field(
        default=False,
        description="Wait for an approval before giving access back even if the approval "
        "policy's gate_restores is off (it is on by default). It cannot skip a gate the policy "
        "asks for.",
    )
    invite_mode: InviteMode = Field(
        default=InviteMode.EMAIL_LINK, description="How to invite them if they have no account."
    )
    account_role: AccountRoleName = Field(
        default="MEMBER", description="Account role of an invitation, if one is needed."
    )
    reason: str = Field(
        default="reactivated by the identity provider", max_length=500,
        description="Why, for the approver and the report.",
    )
