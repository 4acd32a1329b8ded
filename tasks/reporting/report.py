"""Publish the plan, and the run's report: what changed, what was in place, who approved."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from prefect import get_client, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from core.approvals.requests import ApprovalDecision, ApprovalRequest
from core.naming import slug
from core.planning.plan import Plan
from tasks.reporting.crash_history import crash_resumptions
from tasks.reporting.managed_scope import managed_notes
from tasks.steps.step import Outcome, StepResult
from tasks.triggers import Trigger


class RunStatus(StrEnum):
    """How a runbook run ended."""

    COMPLETED = "completed"
    NO_CHANGES = "no changes"
    DRY_RUN = "dry run"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"


class RunbookOutcome(BaseModel):
    """The small typed result every runbook flow returns."""

    runbook: str
    subject: str
    status: RunStatus
    plan_hash: str
    planned: int = Field(description="Changes in the plan.")
    applied: int = Field(default=0, description="Changes that changed live state.")
    already: int = Field(default=0, description="Changes a step found already in place.")
    approver: str | None = None
    break_glass: bool = Field(default=False, description="Approved by break-glass.")
    api_calls: int = 0
    notes: list[str] = Field(default_factory=list)
    managed: list[str] = Field(
        default_factory=list,
        description="Resources changed that account-as-code manages (also in notes).",
    )
    evidence: dict[str, str] = Field(
        default_factory=dict,
        description="Change key → the chain hash of its evidence record (when evidence is on).",
    )


_CHANGED_OR_WOULD = {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.DRY_RUN}
"""Ends after which the account differs, or would, from the plan's changes."""

LOGGED_PLAN_LINES = 100
"""Lines of a plan the run's log shows; the plan artifact has them all."""


@task(name="Publish plan", task_run_name="publish plan {plan.runbook}")
async def publish_plan(plan: Plan) -> str:
    """Log the plan as text and save it as a markdown artifact; return the text.

    The log shows the first ``LOGGED_PLAN_LINES`` lines: the artifact has every change, and a
    plan of thousands would otherwise flood the run's log (and cost a console line each).
    """
    text = plan.render_text()
    lines = text.splitlines()
    shown = "\n".join(lines[:LOGGED_PLAN_LINES])
    if len(lines) > LOGGED_PLAN_LINES:
        shown += f"\n  … {len(lines) - LOGGED_PLAN_LINES} more line(s) in the plan artifact"
    get_run_logger().info("plan:\n%s", shown)
    await acreate_markdown_artifact(
        markdown=plan.render_markdown(),
        key=f"plan-{plan.runbook}-{slug(plan.subject)}"[:100],
        description=f"Plan {plan.hash[:12]} for {plan.subject}",
    )
    return text


@task(name="Write report", task_run_name="report {plan.runbook}")
async def write_report(
    plan: Plan,
    status: RunStatus,
    trigger: Trigger,
    started: datetime,
    results: list[StepResult] | None = None,
    decision: ApprovalDecision | None = None,
    notes: list[str] | None = None,
) -> RunbookOutcome:
    """Save the run's report as a markdown artifact keyed by runbook and subject.

    Reusing the key per subject makes the Prefect UI show the subject's history across runs.
    """
    results = results or []
    managed = (
        await managed_notes(plan, applied=status is not RunStatus.DRY_RUN)
        if status in _CHANGED_OR_WOULD else []
    )
    notes = [*plan.notes, *(notes or []), *await _crash_notes(), *managed]
    if decision is not None:
        notes += [f"approval gate: {reason}" for reason in decision.refused]
    outcome = RunbookOutcome(
        runbook=plan.runbook,
        subject=plan.subject,
        status=status,
        plan_hash=plan.hash,
        planned=len(plan.changes),
        applied=sum(r.outcome is Outcome.APPLIED for r in results),
        already=sum(r.outcome is Outcome.ALREADY for r in results),
        approver=(", ".join(decision.approvers) or decision.approver) if decision else None,
        break_glass=bool(decision and decision.break_glass),
        api_calls=plan.api_calls + sum(r.api_calls for r in results),
        notes=notes,
        managed=managed,
    )
    seconds = (datetime.now(UTC) - started).total_seconds()
    lines = [
        f"# {'BREAK-GLASS — ' if outcome.break_glass else ''}{plan.runbook}: {plan.subject} — "
        f"{status.value}",
        "",
        f"- trigger: {trigger.describe()}",
        f"- plan: `{plan.hash[:12]}`, {outcome.planned} change(s), "
        f"{len(plan.destructive)} destructive",
        f"- applied: {outcome.applied}, already in place: {outcome.already}",
        f"- approval: {_approval_line(plan, decision)}",
        f"- API calls: {outcome.api_calls}; wall time: {seconds:.1f} s",
    ]
    if results:
        lines += ["", "| change | outcome | detail |", "|---|---|---|"]
        lines += [f"| {r.change_key} | {r.outcome.value} | {r.detail} |" for r in results]
    if plan.in_place:
        lines += ["", "## Already in place", ""] + [f"- {item}" for item in plan.in_place]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    await acreate_markdown_artifact(
        markdown="\n".join(lines),
        key=report_key(plan.runbook, plan.subject),
        description=f"{plan.runbook} {status.value} for {plan.subject}",
    )
    get_run_logger().info(
        "%s %s: %s (%d applied, %d already, %d API calls)",
        plan.runbook, plan.subject, status.value, outcome.applied, outcome.already,
        outcome.api_calls,
    )
    return outcome


async def _crash_notes() -> list[str]:
    """One line per crash this run was resumed from (same run id, rescheduled by automation)."""
    if not flow_run.id:
        return []
    async with get_client() as client:
        states = await client.read_flow_run_states(UUID(str(flow_run.id)))
    return [
        f"resumed after a crash: crashed {c.crashed_at:%H:%M:%S} UTC ({c.crash_message}), "
        f"rescheduled {c.rescheduled_at:%H:%M:%S} UTC; every step is idempotent, so the "
        "rerun converged"
        for c in crash_resumptions(states)
    ]


def report_key(runbook: str, subject: str) -> str:
    """The artifact key of a runbook's reports on one subject (one history per subject)."""
    return f"report-{runbook}-{slug(subject)}"[:100]


def expired_report(request: ApprovalRequest) -> str:
    """The report of a run whose gate expired with no flow code left to write it (suspended)."""
    return "\n".join(
        [
            f"# {request.runbook}: {request.subject} — {RunStatus.EXPIRED.value}",
            "",
            f"- trigger: {request.trigger}",
            f"- plan: `{request.plan_hash[:12]}`, {len(request.destructive)} destructive",
            "- applied: 0; nothing was changed",
            f"- approval: no decision by {request.expires_at:%Y-%m-%d %H:%M:%S} UTC; treated as "
            "rejected (recorded by the webhook service's expiry sweep)",
        ]
    )


def _approval_line(plan: Plan, decision: ApprovalDecision | None) -> str:
    if not plan.destructive:
        return "not needed (no destructive changes)"
    if decision is None:
        return "not reached"
    comment = f" ({decision.comment})" if decision.comment else ""
    return f"{decision.approver}{comment}"
