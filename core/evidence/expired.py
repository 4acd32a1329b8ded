"""The evidence of a request that expired while its run was suspended.

A suspended run that nobody answers is failed by Prefect's server when its pause times out: no
flow code runs, so the flow cannot record the expiry as it does for a run that waited in its
own process. The webhook service's expiry sweep finds such requests; this builds their records
from what the gate stored with the request: the destructive typed changes and the trigger.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from core.approvals.requests import ApprovalRequest
from core.evidence.record import (
    ApprovalEvidence,
    EvidenceOutcome,
    EvidenceRecord,
    Timestamps,
    TriggerEvidence,
)

_NAMESPACE = uuid.UUID("6f1d7c52-1b0e-4c55-9c3e-2f4a8d7e9b10")


def expired_request_records(request: ApprovalRequest) -> list[EvidenceRecord]:
    """One record per destructive change of ``request``, outcome expired; stable ids, so the
    sweep of several replicas (or a retried sweep) appends each once."""
    trigger = request.trigger_evidence or TriggerEvidence(source=request.trigger, signed=False)
    approval = ApprovalEvidence(
        approved=None,
        channel="slack" if request.message_ts else "prefect",
        refused=[f"no decision by {request.expires_at:%Y-%m-%d %H:%M:%S} UTC"],
    )
    times = Timestamps(requested=request.expires_at - timedelta(seconds=request.timeout_seconds))
    records = []
    pairs = zip(request.changes, request.destructive, strict=False)
    for index, (change, words) in enumerate(pairs):
        key = f"{request.run_id}|{request.plan_hash}|{index}|{words}|expired"
        records.append(
            EvidenceRecord(
                record_id=str(uuid.uuid5(_NAMESPACE, key)),
                runbook=request.runbook,
                subject=request.subject,
                action=str(change.get("action", "unknown")),
                target=str(change.get("target", words)),
                change=change,
                before="as it was",
                after="as it was: nothing was applied",
                trigger=trigger,
                requested_by=request.requested_by,
                approval=approval,
                plan_hash=request.plan_hash,
                timestamps=times,
                run_id=request.run_id,
                run_url=request.flow_run_url,
                outcome=EvidenceOutcome.EXPIRED,
                detail="not applied: nobody approved in time (the run was suspended)",
            )
        )
    return records
