"""The approval gate's data: what is asked, how it was decided, and the keys it is kept under.

Shared by the gate's decision logic (`core.approvals.decision`), the Prefect gate
(`tasks.approvals.gate`), the Slack poster (`tasks.approvals.slack_messages`) and the click
handler in the webhook service, which keep these on the flow run through Prefect's run-input
API. Keys of run inputs may hold only ``[a-z0-9-]``; the resume form is
`tasks.approvals.answer.ApprovalAnswer`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from core.approvals.rules import ApprovalPolicy
from core.evidence.record import TriggerEvidence

REQUEST_KEY_PREFIX = "approval-request-"
VOTE_KEY_PREFIX = "vote-"


class ApprovalDecision(BaseModel):
    """How a gate was decided, after the flow checked the votes against the policy."""

    approved: bool
    approver: str = Field(description="Who decided, in words (every counted approver).")
    comment: str = ""
    approvers: list[str] = Field(default_factory=list, description="Voters whose vote counted.")
    break_glass: bool = False
    refused: list[str] = Field(
        default_factory=list, description="Answers and votes that did not count, and why."
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
    policy: ApprovalPolicy = Field(
        default_factory=ApprovalPolicy,
        description="The approval policy the request was asked under (the flow re-checks its own).",
    )
    held: str | None = Field(
        default=None,
        description="Why the gate is held for break-glass approval (leaver storm), if it is.",
    )
    channel: str | None = None
    message_ts: str | None = None
    changes: list[dict[str, Any]] = Field(
        default_factory=list,
        description=(
            "The destructive typed changes, as planned (ids and names, never a secret): what "
            "the evidence of a request that expires with no flow code running records."
        ),
    )
    trigger_evidence: TriggerEvidence | None = Field(
        default=None, description="The trigger as the evidence records it (source, signed)."
    )

    @property
    def quorum(self) -> int:
        """Approvals needed; a held gate needs a break-glass approval instead."""
        return self.policy.quorum


def request_key(gate: str) -> str:
    """Run-input key of a gate's request."""
    return f"{REQUEST_KEY_PREFIX}{gate}"


#: Hex digits of the voter hash in a vote key: 128 bits, so two voters never share a key.
VOTER_HASH_LENGTH = 32


def vote_key(gate: str, voter_key: str) -> str:
    """Run-input key of one voter's vote on one gate; the key itself makes votes unique.

    ``voter_key`` is :attr:`~core.approvals.rules.Voter.key` (the normalised e-mail, or the
    Slack id of a voter without one). Run-input keys allow only ``[a-z0-9-]``, and slugging an
    e-mail would fold ``jo.ann@`` and ``jo_ann@`` into one voter, so the key holds a hash of
    it; the vote itself (the value) keeps the e-mail.
    """
    digest = hashlib.sha256(voter_key.strip().lower().encode()).hexdigest()
    return f"{VOTE_KEY_PREFIX}{gate}-{digest[:VOTER_HASH_LENGTH]}"

