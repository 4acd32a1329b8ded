"""The approval gate's data: what is asked, what a vote is, what the answer is.

Shared by the flow-side gate (`tasks.approvals.gate`), the Slack poster
(`tasks.approvals.slack_messages`) and the click handler in the webhook service, which reads and
writes these on the flow run through Prefect's run-input API. Keys of run inputs may hold only
``[a-z0-9-]``.
"""

from __future__ import annotations

from datetime import datetime

from prefect.input import RunInput
from pydantic import BaseModel, Field

from blocks._naming import slug

REQUEST_KEY_PREFIX = "approval-request-"
VOTE_KEY_PREFIX = "vote-"


class ApprovalDecision(RunInput):
    """The answer that resumes a paused runbook: the Prefect UI form, the CLI and Slack send it."""

    approved: bool = Field(description="True to apply the plan, false to reject it.")
    approver: str = Field(min_length=1, description="Who decided (email, Slack user id or name).")
    comment: str = Field(default="", description="Why, for the audit record.")
    approvers: list[str] = Field(
        default_factory=list, description="Everyone whose vote counted towards the quorum."
    )


class ApprovalRequest(BaseModel):
    """What the gate asks, stored on the flow run as run input ``approval-request-<gate>``."""

    run_id: str
    gate: str = Field(description="The pause key; lowercase letters, digits and dashes.")
    runbook: str
    subject: str = Field(description="What the run acts on: a team, a user's email, a project.")
    trigger: str = Field(description="Who or what started the run, in words.")
    requested_by: str | None = None
    protected: list[str] = Field(
        default_factory=list,
        description="Emails or Slack ids that may not approve: the requester, the offboarded user.",
    )
    plan_hash: str
    destructive: list[str] = Field(description="Each destructive change in plain words.")
    counts: dict[str, int] = Field(default_factory=dict, description="Changes by kind.")
    timeout_seconds: int
    expires_at: datetime
    flow_run_url: str | None = None
    quorum: int = 1
    approver_group: str | None = None
    approver_ids: list[str] = Field(default_factory=list)
    allow_requester: bool = False
    channel: str | None = None
    message_ts: str | None = None


class Vote(BaseModel):
    """One person's click, stored as run input ``vote-<gate>-<user>``: unique per voter."""

    user_id: str
    user_name: str | None = None
    approved: bool
    at: datetime


def request_key(gate: str) -> str:
    """Run-input key of a gate's request."""
    return f"{REQUEST_KEY_PREFIX}{gate}"


def vote_key(gate: str, user_id: str) -> str:
    """Run-input key of one voter's vote on one gate; the key itself makes votes unique."""
    return f"{VOTE_KEY_PREFIX}{gate}-{slug(user_id)}"

