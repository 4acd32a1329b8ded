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
from prefect.utilities.annotations import quote

from blocks.policy import RunbookPolicy
from core.approvals.requests import ApprovalDecision
from core.evidence import Timestamps
from core.planning.plan import NotConverged, Plan, PlanDrift, ensure_converged, ensure_no_drift
from tasks.approvals.gate import ApprovalTimeout, announce_result, require_approval
from tasks.approvals.storm import storm_hold
from tasks.reporting.evidence import record_evidence, stamp
from tasks.reporting.report import RunbookOutcome, RunStatus, publish_plan, write_report
from tasks.steps import progress, throttle
from tasks.steps.apply import ApplyFailed, apply_plan
from tasks.steps.step import Outcome, StepContext, StepResult
from tasks.triggers import Trigger, TriggerSource, claimed_requesters

Replan = Callable[[], Awaitable[Plan]]


async def load_policy(name: str) -> RunbookPolicy:
    """The saved policy block the run uses; from here on the run's requests to Arize are paced.

    Every runbook loads its policy before its first request to Arize, so this is where the
    run starts taking a slot of the policy's rate limit per request (its plan's reads
    included: Arize limits reads too). A missing limit fails the run here, before any request.
    """
    policy = await RunbookPolicy.aload(name)
    if policy.rate_limit:
        await throttle.pace(policy.rate_limit)
    return policy


def resolve_trigger(trigger: Trigger | None) -> Trigger:
    """The trigger the run can vouch for.

    A trigger counts only when the webhook service signed it; anything else typed into the run's
    parameters is kept as an unverified claim in the report (its requester still may not
    approve), and the run is recorded as scheduled or manual, with who created it if Prefect
    knows.
    """
    if trigger is not None and trigger.is_verified():
        return trigger
    context = FlowRunContext.get()
    run = context.flow_run if context is not None else None
    claim = trigger.describe() if trigger is not None else None
    reason = trigger.verification_problem() if trigger is not None else None
    if run is not None and run.auto_scheduled:
        return Trigger(
            source=TriggerSource.SCHEDULE,
            unverified_claim=claim,
            unverified_reason=reason,
            claimed_requester=trigger.requested_by if trigger is not None else None,
        )
    created_by = run.created_by.display_value if run is not None and run.created_by else None
    claimed = trigger.requested_by if trigger is not None else None
    return Trigger(
        source=TriggerSource.MANUAL,
        requested_by=created_by,
        unverified_claim=claim,
        unverified_reason=reason,
        claimed_requester=claimed,
    )


async def execute_plan(
    plan: Plan,
    replan: Replan,
    policy: RunbookPolicy,
    trigger: Trigger,
    *,
    dry_run: bool,
    started: datetime | None = None,
    protected: list[str] | None = None,
    before_apply: Callable[[], Awaitable[object]] | None = None,
) -> tuple[RunbookOutcome, list[StepResult]]:
    """Take a fresh plan through gate → apply → verify → report.

    ``before_apply`` runs once the plan is cleared to apply (approved, and no drift since),
    before its first change: a runbook keeps what it is about to take away there, so a run
    that is rejected, expires or finds drift keeps nothing.

    Returns:
        The outcome, and the step results (empty unless something was applied).

    Raises:
        PlanDrift: live state changed after approval; nothing applied.
        ApprovalTimeout: nobody decided in time; nothing applied.
        ApplyFailed: a change failed after its retries; the report lists what was applied.
        NotConverged: verification found changes that did not take effect.
    """
    started = started or datetime.now(UTC)
    times = Timestamps(requested=started)

    async def report(
        status: RunStatus,
        results: list[StepResult] | None = None,
        decision: ApprovalDecision | None = None,
        notes: list[str] | None = None,
    ) -> RunbookOutcome:
        # quote: Prefect would otherwise walk every change and result, thousands on a large
        # plan, looking for futures to wait on.
        outcome = await write_report(
            quote(plan), status, trigger, started, quote(results), decision, notes
        )
        hashes = await record_evidence(
            quote(plan), status, trigger, times, quote(results), decision, notes,
            slack=policy.slack is not None,
        )
        return outcome.model_copy(update={"evidence": hashes})

    await publish_plan(quote(plan))
    progress.planned(plan)
    if dry_run:
        return await report(RunStatus.DRY_RUN), []
    if not plan.changes:
        return await report(RunStatus.NO_CHANGES), []

    decision = None
    if plan.destructive:
        protected = [*(protected or []), *claimed_requesters(trigger)]
        held = await storm_hold(plan, policy, trigger)
        try:
            decision = await require_approval(
                plan, policy, trigger, protected=protected, held=held
            )
            times.approved = stamp()
        except ApprovalTimeout as ex:
            await report(RunStatus.EXPIRED, notes=[str(ex), *ex.refused])
            await announce_result(plan, policy, f"Expired: {ex}")
            raise
        if not decision.approved:
            outcome = await report(RunStatus.REJECTED, decision=decision)
            await announce_result(
                plan, policy, f"Rejected: {decision.approver}; nothing was applied."
            )
            return outcome, []
    context = StepContext(credentials=policy.credentials, key_store=policy.key_store)
    results: list[StepResult] = []
    try:
        if decision is not None:
            # Slots reserved before the gate have lapsed; the next ones are reserved while the
            # drift re-plan's task starts, not after.
            throttle.prime()
            ensure_no_drift(plan, await replan())
        if before_apply is not None:
            await before_apply()
        results = await apply_plan(
            plan, context, max_parallel=policy.max_parallel, rate_limit_name=policy.rate_limit
        )
        times.applied = stamp()
        ensure_converged(await replan())
        times.verified = stamp()
    except (PlanDrift, ApplyFailed, NotConverged) as ex:
        # What was applied before verification found a gap is in the report and the evidence.
        applied = ex.results if isinstance(ex, ApplyFailed) else results
        await report(RunStatus.FAILED, applied, decision, notes=[str(ex)])
        await announce_result(plan, policy, f"Run failed; see the report. {ex}")
        raise
    applied = sum(r.outcome is Outcome.APPLIED for r in results)
    outcome = await report(RunStatus.COMPLETED, results, decision)
    # After the report: the thread hears the report's note on resources account-as-code manages.
    await announce_result(
        plan, policy, " ".join([
            f"Done: {applied} change(s) applied, {len(results) - applied} already in place; "
            "verified against live state.", *outcome.managed,
        ])
    )
    return outcome, results
