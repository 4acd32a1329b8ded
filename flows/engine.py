"""The phases every runbook shares once it has a plan: gate, apply, verify, report.

A flow plans with its own read-only task, then hands the plan here. Read top to bottom, this is
the runbook an admin follows by hand: stop after the plan on a dry run; ask for approval only
when something destructive is planned; re-plan and refuse if live state moved since approval;
apply; re-plan to verify nothing is left; report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from prefect.context import FlowRunContext

from blocks.policy import RunbookPolicy
from tasks.approvals.gate import announce_result, require_approval
from tasks.planning.plan import NotConverged, Plan, PlanDrift, ensure_converged, ensure_no_drift
from tasks.reporting.report import RunbookOutcome, RunStatus, publish_plan, write_report
from tasks.steps.apply import ApplyFailed, apply_plan
from tasks.steps.step import StepContext, StepResult
from tasks.triggers import Trigger, TriggerSource

Replan = Callable[[], Awaitable[Plan]]


async def load_policy(name: str) -> RunbookPolicy:
    """The saved policy block the run uses."""
    return await RunbookPolicy.aload(name)


def resolve_trigger(trigger: Trigger | None) -> Trigger:
    """The trigger the run was given, else schedule or manual, from the flow run itself."""
    if trigger is not None:
        return trigger
    context = FlowRunContext.get()
    if context is not None and context.flow_run.auto_scheduled:
        return Trigger(source=TriggerSource.SCHEDULE)
    return Trigger(source=TriggerSource.MANUAL)


async def execute_plan(
    plan: Plan,
    replan: Replan,
    policy: RunbookPolicy,
    trigger: Trigger,
    *,
    dry_run: bool,
    started: datetime | None = None,
    protected: list[str] | None = None,
) -> tuple[RunbookOutcome, list[StepResult]]:
    """Take a fresh plan through gate → apply → verify → report.

    Returns:
        The outcome, and the step results (empty unless something was applied).

    Raises:
        PlanDrift: live state changed after approval; nothing applied.
        ApprovalTimeout: nobody decided in time; nothing applied.
        ApplyFailed: a change failed after its retries; the report lists what was applied.
        NotConverged: verification found changes that did not take effect.
    """
    started = started or datetime.now(UTC)
    await publish_plan(plan)
    if dry_run:
        return await write_report(plan, RunStatus.DRY_RUN, trigger, started), []
    if not plan.changes:
        return await write_report(plan, RunStatus.NO_CHANGES, trigger, started), []

    decision = None
    if plan.destructive:
        decision = await require_approval(plan, policy, trigger, protected=protected)
        if not decision.approved:
            outcome = await write_report(
                plan, RunStatus.REJECTED, trigger, started, decision=decision
            )
            await announce_result(
                plan, policy, f"Rejected by {decision.approver}; nothing was applied."
            )
            return outcome, []
    context = StepContext(credentials=policy.credentials, key_store=policy.key_store)
    try:
        if decision is not None:
            ensure_no_drift(plan, await replan())
        results = await apply_plan(
            plan, context, max_parallel=policy.max_parallel, rate_limit_name=policy.rate_limit
        )
        ensure_converged(await replan())
    except (PlanDrift, ApplyFailed, NotConverged) as ex:
        applied = ex.results if isinstance(ex, ApplyFailed) else []
        await write_report(
            plan, RunStatus.FAILED, trigger, started, applied, decision, notes=[str(ex)]
        )
        await announce_result(plan, policy, f"Run failed; see the report. {ex}")
        raise
    outcome = await write_report(plan, RunStatus.COMPLETED, trigger, started, results, decision)
    await announce_result(
        plan, policy, f"Done: {outcome.applied} change(s) applied, {outcome.already} already "
        "in place; verified against live state."
    )
    return outcome, results
