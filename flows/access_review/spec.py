"""The access-review spec; its field descriptions become the Prefect UI's run form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from core.planning.specs import SpecModel

DefaultDecision = Literal["keep_and_flag", "revoke"]

MAX_DAYS = 3650
"""Ten years: longer windows mean nothing to a review, and date arithmetic stays in range."""
MAX_WAIT_SECONDS = 366 * 86400
"""A review's reminder, escalation and default steps each come within a year."""


def current_quarter(now: datetime | None = None) -> str:
    """``2025-Q3``: the review's name when the spec gives none (the schedule runs quarterly)."""
    now = now or datetime.now(UTC)
    return f"{now.year}-Q{(now.month - 1) // 3 + 1}"


class AccessReviewSpec(SpecModel):
    """What to review, which findings to raise, and how long reviewers have."""

    review_id: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Name of the review, e.g. 2025-Q3; empty: the current quarter. Rerunning "
        "a review of the same name resumes it (or, once finished, changes nothing).",
    )
    invitation_max_age_days: int = Field(
        default=14, ge=0, le=MAX_DAYS,
        description="Flag invitations not accepted after this many days (0 to 3650)."
    )
    key_expiring_within_days: int = Field(
        default=30, ge=0, le=MAX_DAYS,
        description="Flag keys that expire within this many days (0 to 3650)."
    )
    key_max_age_days: int = Field(
        default=180, ge=1, le=MAX_DAYS,
        description="Flag keys older than this many days (secret never refreshed; 1 to 3650)."
    )
    refresh_lookback_days: int = Field(
        default=90,
        ge=1,
        le=365,
        description="How far back the audit log is read for key refreshes.",
    )
    idp_export: str | list[str] | None = Field(
        default=None,
        description="Active people from the IdP or HR: a CSV (column 'email') or JSON file "
        "path, or the emails inline. Anyone in Arize not in it is flagged. An export that lists "
        "nobody is refused (see allow_empty_idp_export).",
    )
    allow_empty_idp_export: bool = Field(
        default=False,
        description="Accept an IdP export that lists nobody (every Arize user is then flagged). "
        "Off: a header-only CSV or [] is refused as a failed export.",
    )
    output_dir: str | None = Field(
        default=None,
        description="Directory for the auditors' CSV and JSON files; empty: artifacts only.",
    )
    slack_review: bool = Field(
        default=True,
        description="Send each reviewer their grants with Keep / Revoke buttons (needs the "
        "policy's Slack app); off: inventory, findings and files only.",
    )
    decision_seconds: int = Field(
        default=14 * 86400,
        ge=1,
        le=MAX_WAIT_SECONDS,
        description="How long reviewers have before undecided items get a reminder.",
    )
    reminder_seconds: int = Field(
        default=3 * 86400,
        ge=1,
        le=MAX_WAIT_SECONDS,
        description="After the reminder, how long before undecided items are escalated.",
    )
    escalation_seconds: int = Field(
        default=3 * 86400,
        ge=1,
        le=MAX_WAIT_SECONDS,
        description="After the escalation, how long before default_decision applies.",
    )
    default_decision: DefaultDecision = Field(
        default="keep_and_flag",
        description="What an item nobody decided gets: kept (and flagged in the record) or "
        "revoked (through the approval gate like any revocation).",
    )
    escalation_channel: str | None = Field(
        default=None,
        description="Where escalations go; empty: the policy's approval channel.",
    )
    poll_seconds: float = Field(
        default=60, gt=0, le=3600, description="How often the run checks for decisions."
    )

    def name(self) -> str:
        """The review's name: ``review_id`` or the current quarter."""
        return self.review_id or current_quarter()
