"""Post the run's evidence records to the webhook service, which chains and stores them.

One record per change the run applied or found in place, and one per change of a request that
was refused or expired (its content says which). Workers hold no database credentials: they
post to ``ARIZE_RUNBOOKS_SERVICE_URL``'s ``/evidence/records``, signed with the service key.

Without ``ARIZE_RUNBOOKS_SERVICE_URL`` evidence is off: the run logs a warning saying so and
goes on (the demo and a laptop install have no service). With it, a record that cannot be
stored fails the run after its retries: the changes are applied, and an auditor is better
served by a failed run than by a silent gap in the chain.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from prefect import get_run_logger, task
from prefect.runtime import flow_run
from prefect.tasks import exponential_backoff
from pydantic import Field

from config.settings import RunbooksSettings
from core.approvals.requests import ApprovalDecision
from core.evidence import (
    SIGNATURE_HEADER,
    SIGNATURE_PURPOSE,
    ApprovalEvidence,
    EvidenceBatch,
    EvidenceOutcome,
    EvidenceRecord,
    Timestamps,
)
from core.planning.changes import Change
from core.planning.plan import Plan
from core.service_key import sign
from tasks.reporting.report import RunStatus
from tasks.retry import retry_when
from tasks.steps.step import Outcome, StepResult
from tasks.triggers import Trigger

#: Changes that take something away: their "after" is its absence.
_REMOVALS = frozenset({"delete-user", "unbind-role", "revoke-key", "delete-role"})
_NAMESPACE = uuid.UUID("6d1f4a52-52c5-4d4b-9a8e-2f0a7c1e9b31")
#: Records per POST: about 1.5 KB each, well inside the service's body limit.
POST_BATCH = 500
_VERIFIED = "verified: a fresh plan after the apply found nothing left to change"


SERVICE_URL_ENV = "ARIZE_RUNBOOKS_SERVICE_URL"
"""The variable ``EvidenceSettings.service_url`` is read from (the settings' prefix + name)."""


class EvidenceSettings(RunbooksSettings):
    """Where the workers post evidence (``ARIZE_RUNBOOKS_SERVICE_URL``)."""

    service_url: str | None = Field(
        default=None,
        description=(
            "URL of `arize-runbooks serve`, where flows post their evidence records; unset: "
            "no evidence is recorded (each run logs that it is off)."
        ),
    )


class EvidenceRefused(RuntimeError):
    """The service refused the batch for good (a wrong key, a malformed record)."""


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        code = exc.response.status_code
        return code >= 500 or code in (408, 429)
    return isinstance(exc, httpx.TransportError)


def _words(change: Change, outcome: EvidenceOutcome) -> tuple[str, str]:
    """Live state before and after, in words."""
    done = outcome.succeeded
    if change.action in _REMOVALS:
        before = f"present: {change.target}"
        if outcome is EvidenceOutcome.ALREADY:
            before = "absent"
        return before, ("absent" if done else before)
    before = f"in place: {change.describe()}" if outcome is EvidenceOutcome.ALREADY else "absent"
    return before, (f"in place: {change.describe()}" if done else before)


def build_records(
    plan: Plan,
    status: RunStatus,
    trigger: Trigger,
    times: Timestamps,
    results: list[StepResult] | None = None,
    decision: ApprovalDecision | None = None,
    notes: list[str] | None = None,
    *,
    channel: str,
    run_id: str | None = None,
    run_url: str | None = None,
) -> list[EvidenceRecord]:
    """The run's records: one per applied or in-place change (completed, or failed part-way),
    one per change of a refused or expired request; none for dry runs and no-change runs."""
    approval = None
    if decision is not None:
        approval = ApprovalEvidence(
            approved=decision.approved,
            approvers=decision.approvers or [decision.approver],
            channel=channel,
            break_glass=decision.break_glass,
            refused=decision.refused,
        )
    elif status is RunStatus.EXPIRED:
        approval = ApprovalEvidence(approved=None, channel=channel, refused=notes or [])
    trigger_evidence = trigger.evidence()
    entries: list[tuple[Change, EvidenceOutcome, str, str | None]] = []
    if status in (RunStatus.COMPLETED, RunStatus.FAILED):
        by_key = {change.key: change for change in plan.changes}
        verified = status is RunStatus.COMPLETED
        for result in results or []:
            change = by_key.get(result.change_key)
            if change is None or result.outcome not in (Outcome.APPLIED, Outcome.ALREADY):
                continue
            outcome = (
                EvidenceOutcome.APPLIED if result.outcome is Outcome.APPLIED
                else EvidenceOutcome.ALREADY
            )
            read_back = _VERIFIED if verified else "not verified: the run failed before it could"
            entries.append((change, outcome, result.detail, read_back))
    elif status in (RunStatus.REJECTED, RunStatus.EXPIRED):
        rejected = status is RunStatus.REJECTED
        outcome = EvidenceOutcome.REFUSED if rejected else EvidenceOutcome.EXPIRED
        why = "the approval was refused" if rejected else "nobody approved in time"
        entries += [(c, outcome, f"not applied: {why}", None) for c in plan.changes]
    run = run_id or uuid.uuid4().hex
    records = []
    for index, (change, outcome, detail, read_back) in enumerate(entries):
        before, after = _words(change, outcome)
        key = f"{run}|{plan.hash}|{index}|{change.key}|{outcome.value}"
        records.append(
            EvidenceRecord(
                record_id=str(uuid.uuid5(_NAMESPACE, key)),
                runbook=plan.runbook,
                subject=plan.subject,
                action=str(change.action),
                target=change.target,
                change=change.model_dump(mode="json"),
                before=before,
                after=after,
                trigger=trigger_evidence,
                requested_by=trigger.requested_by,
                approval=approval,
                plan_hash=plan.hash,
                timestamps=times,
                run_id=run_id,
                run_url=run_url,
                outcome=outcome,
                detail=detail,
                read_back=read_back,
            )
        )
    return records


@task(
    name="Record evidence",
    task_run_name="evidence {plan.runbook}",
    retries=5,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_condition_fn=retry_when(_transient),
)
async def record_evidence(
    plan: Plan,
    status: RunStatus,
    trigger: Trigger,
    times: Timestamps,
    results: list[StepResult] | None = None,
    decision: ApprovalDecision | None = None,
    notes: list[str] | None = None,
    *,
    slack: bool = False,
) -> dict[str, str]:
    """Build the run's records and post them to the service.

    Returns:
        Each recorded change's key → its record's chain hash (empty when evidence is off).

    Raises:
        EvidenceRefused: the service refused the batch (wrong service key, bad record).
        core.service_key.ServiceKeyMissing: a service URL is set but no service key.
    """
    logger = get_run_logger()
    run_id = str(flow_run.id) if flow_run.id else None
    records = build_records(
        plan, status, trigger, times, results, decision, notes,
        channel="slack" if slack else "prefect",
        run_id=run_id,
        run_url=flow_run.ui_url if run_id else None,
    )
    if not records:
        return {}
    url = EvidenceSettings().service_url
    if not url:
        logger.warning(
            "evidence is off: ARIZE_RUNBOOKS_SERVICE_URL is not set, so %d evidence record(s) "
            "of this run are not kept (see docs/evidence.md)", len(records)
        )
        return {}
    stored: list[dict[str, Any]] = []
    async with httpx.AsyncClient(timeout=30) as client:
        # In batches: a plan of thousands of changes would exceed the service's body limit.
        # A retry of the task posts every batch again; the stored ones are found by record id.
        for first in range(0, len(records), POST_BATCH):
            batch = EvidenceBatch(records=records[first : first + POST_BATCH])
            stored += await _post(client, url, batch.model_dump(mode="json"))
    created = sum(1 for entry in stored if entry["created"])
    logger.info(
        "evidence: %d record(s) chained, rows %d..%d, head %s",
        created, stored[0]["seq"], stored[-1]["seq"], stored[-1]["hash"][:12],
    )
    keys = {record.record_id: f"{record.action}:{record.target}" for record in records}
    return {keys[entry["record_id"]]: entry["hash"] for entry in stored}


async def _post(client: httpx.AsyncClient, url: str, payload: dict[str, Any]) -> list[Any]:
    headers = {SIGNATURE_HEADER: sign(SIGNATURE_PURPOSE, payload)}
    response = await client.post(
        url.rstrip("/") + "/evidence/records", json=payload, headers=headers
    )
    if response.status_code in (401, 400, 404, 413, 422):
        raise EvidenceRefused(
            f"the webhook service at {url} refused the evidence ({response.status_code}: "
            f"{response.text[:200]}); check that it runs with the workers' "
            "ARIZE_RUNBOOKS_SERVICE_KEY"
        )
    response.raise_for_status()
    appended: list[Any] = response.json()["appended"]
    return appended


def stamp() -> datetime:
    """Now, for a :class:`~core.evidence.Timestamps` field."""
    return datetime.now(UTC)
