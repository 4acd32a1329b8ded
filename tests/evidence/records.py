"""Evidence records for tests: a realistic one per action, built the way the flows build them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.evidence import (
    ApprovalEvidence,
    EvidenceOutcome,
    EvidenceRecord,
    Timestamps,
    TriggerEvidence,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

#: One typed change per action the OCSF mapping names, as a plan would hold it.
CHANGES: list[dict[str, object]] = [
    {"action": "invite-user", "target": "ann@acme.example", "name": "Ann",
     "email": "ann@acme.example", "account_role": "MEMBER", "invite_mode": "NONE"},
    {"action": "delete-user", "target": "lee@acme.example", "user_id": "u1",
     "email": "lee@acme.example", "destructive": True},
    {"action": "revoke-key", "target": "lee-laptop", "api_key_id": "k1", "name": "lee-laptop",
     "key_type": "USER", "destructive": True},
    {"action": "set-org-role", "target": "ann in acme", "org_id": "o1",
     "email": "ann@acme.example", "role": "MEMBER"},
    {"action": "set-space-role", "target": "ann in ml", "space": "ml", "space_id": "s1",
     "email": "ann@acme.example", "role": "MEMBER"},
    {"action": "bind-role", "target": "ann: reviewer", "email": "ann@acme.example",
     "role_id": "r1", "resource_type": "SPACE", "resource_id": "s1"},
    {"action": "unbind-role", "target": "lee: binding b1", "binding_id": "b1", "user_id": "u1",
     "destructive": True},
    {"action": "create-space", "target": "ml", "name": "ml", "organization_id": "o1"},
    {"action": "restrict-project", "target": "fraud", "project_id": "p1", "space": "ml"},
]


def record(
    n: int = 0,
    *,
    outcome: EvidenceOutcome = EvidenceOutcome.APPLIED,
    change: dict[str, object] | None = None,
    runbook: str = "offboard-user",
    subject: str = "lee@acme.example",
    event_id: str | None = "okta-evt-1",
) -> EvidenceRecord:
    """Record ``n`` of a run: a change, approved in Slack, applied and verified."""
    change = change or CHANGES[n % len(CHANGES)]
    return EvidenceRecord(
        record_id=f"rec-{n}",
        runbook=runbook,
        subject=subject,
        action=str(change["action"]),
        target=str(change["target"]),
        change=change,
        before="present",
        after="absent",
        trigger=TriggerEvidence(source="okta", event_id=event_id, signed=True),
        requested_by="hr-bot@acme.example",
        approval=ApprovalEvidence(
            approved=None if outcome is EvidenceOutcome.EXPIRED else outcome.succeeded,
            approvers=["approver@acme.example"],
            channel="slack",
        ),
        plan_hash="ab" * 32,
        timestamps=Timestamps(
            requested=T0,
            approved=T0 + timedelta(minutes=5),
            applied=T0 + timedelta(minutes=6),
            verified=T0 + timedelta(minutes=6, seconds=2),
        ),
        run_id="3f6c2a1e-0000-4000-8000-000000000001",
        run_url="http://prefect.test/runs/flow-run/3f6c2a1e",
        outcome=outcome,
        detail="deleted",
        read_back="verified: a fresh plan after the apply found nothing left to change",
    )
