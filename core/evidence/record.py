"""The evidence record: what an auditor asks about one access change, in one document.

A record holds what changed (the typed change, before and after), on whom, what triggered it
(and whether the webhook service signed that trigger), who asked, who approved and through
which channel, the plan hash, the four timestamps, the run, and the outcome with the
verifying read-back. It holds ids, emails and words only: typed changes carry no secret by
design (core/planning/changes.py) and no webhook payload is ever copied in.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EvidenceOutcome(StrEnum):
    """How the request for one change ended."""

    APPLIED = "applied"
    ALREADY = "already in place"
    REFUSED = "refused"
    EXPIRED = "expired"
    FAILED = "failed"

    @property
    def succeeded(self) -> bool:
        """Whether live state is what was asked for."""
        return self in (EvidenceOutcome.APPLIED, EvidenceOutcome.ALREADY)


class TriggerEvidence(BaseModel):
    """What started the run."""

    model_config = ConfigDict(extra="forbid")

    source: str
    event_id: str | None = None
    ticket: str | None = None
    signed: bool = Field(description="The webhook service's signature over it checked out.")
    received_at: datetime | None = Field(
        default=None,
        description=(
            "When the service received the event (the HR or identity event time); stamped by "
            "the service from its inbox when the record is appended."
        ),
    )


class ApprovalEvidence(BaseModel):
    """How the gate was decided (absent when nothing destructive needed one)."""

    model_config = ConfigDict(extra="forbid")

    approved: bool | None = Field(description="None: nobody decided before the gate expired.")
    approvers: list[str] = Field(default_factory=list)
    channel: str = Field(description="slack, or prefect (the UI's resume form or the CLI).")
    break_glass: bool = False
    refused: list[str] = Field(
        default_factory=list, description="Answers that did not count, and why."
    )


class Timestamps(BaseModel):
    """When the change was requested, approved, applied and verified (UTC)."""

    model_config = ConfigDict(extra="forbid")

    requested: datetime
    approved: datetime | None = None
    applied: datetime | None = None
    verified: datetime | None = None


class EvidenceRecord(BaseModel):
    """One access change (or one refused or expired request for it), as the flow saw it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    record_id: str = Field(description="Stable per run and change: a retried append is a no-op.")
    runbook: str
    subject: str = Field(description="Who or what the run acts on: a user's email, a team.")
    action: str
    target: str
    change: dict[str, Any] = Field(description="The typed change, as planned and approved.")
    before: str = Field(description="Live state before, in words.")
    after: str = Field(description="Live state after, in words.")
    trigger: TriggerEvidence
    requested_by: str | None = None
    approval: ApprovalEvidence | None = None
    plan_hash: str
    timestamps: Timestamps
    run_id: str | None = None
    run_url: str | None = None
    outcome: EvidenceOutcome
    detail: str = Field(default="", description="What the step did, or why nothing was done.")
    read_back: str | None = Field(
        default=None, description="The verifying read of live state after the apply."
    )

    @property
    def user(self) -> str | None:
        """The person the change is about, when it is about one (its email)."""
        email = self.change.get("email")
        if isinstance(email, str):
            return email
        return self.subject if "@" in self.subject else None


class StoredRecord(BaseModel):
    """A record as the chain holds it: its place, when the service appended it, its hashes."""

    model_config = ConfigDict(frozen=True)

    seq: int
    recorded_at: datetime
    record: EvidenceRecord
    prev_hash: str
    hash: str


#: Header of the service-key signature over a posted :class:`EvidenceBatch`.
SIGNATURE_HEADER = "X-Arize-Runbooks-Signature"
#: What the service key signs a batch for (``core.service_key.sign``'s ``purpose``).
SIGNATURE_PURPOSE = "evidence"


class EvidenceBatch(BaseModel):
    """What a flow posts to ``POST /evidence/records``."""

    model_config = ConfigDict(extra="forbid")

    records: list[EvidenceRecord] = Field(max_length=10_000)
