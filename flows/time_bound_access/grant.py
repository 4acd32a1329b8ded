"""grant-temporary-access: a role on a space or project for a while, approved, revoked on time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from prefect import flow, get_client, get_run_logger
from prefect.deployments import arun_deployment
from prefect.exceptions import ObjectNotFound
from prefect.runtime import flow_run
from pydantic import BaseModel

from blocks.policy import RunbookPolicy
from core.approvals.requests import ApprovalDecision
from core.planning.plan import Plan, SpecError, ensure_converged, ensure_no_drift
from flows.engine import load_policy, resolve_trigger
from flows.time_bound_access.notices import notify_requester
from flows.time_bound_access.plan import GrantPlan, plan_grant
from flows.time_bound_access.policy import load_access_policy
from flows.time_bound_access.records import (
    AccessGrant,
    GrantEnded,
    clock,
    create_grant,
    extend_grant,
    find_open_grant,
    finish_end,
    read_grant,
    update_grant,
)
from flows.time_bound_access.revoke import plan_revoke
from flows.time_bound_access.spec import GrantTemporaryAccessSpec, describe_duration
from tasks.approvals.gate import require_approval
from tasks.planner import planning_task
from tasks.reporting.report import RunbookOutcome, RunStatus, publish_plan, write_report
from tasks.steps.apply import apply_plan
from tasks.steps.step import StepContext, StepResult
from tasks.triggers import Trigger, TriggerParam, claimed_requesters

REVOKE_DEPLOYMENT = "revoke-temporary-access/revoke-temporary-access"
"""The deployment that revokes one grant at its expiry (prefect.yaml)."""


class GrantResult(StrEnum):
    """How a request ended."""

    GRANTED = "granted"
    EXTENDED = "extended"
    STANDING = "standing"
    REJECTED = "rejected"
    ENDED = "ended"
    DRY_RUN = "dry run"


class GrantOutcome(BaseModel):
    """What the requester is told, and the run's report."""

    result: GrantResult
    grant_id: str | None = None
    expires_at: datetime | None = None
    message: str
    report: RunbookOutcome


plan_grant_task = planning_task(
    plan_grant,
    name="Plan grant-temporary-access",
    task_run_name="plan grant {spec.role} to {spec.email} on {spec.space}",
)


@flow(name="grant-temporary-access", persist_result=True)
async def grant_temporary_access(
    spec: GrantTemporaryAccessSpec,
    dry_run: bool = False,
    trigger: TriggerParam = None,
    policy: str = "default",
    access_policy: str = "default",
    requester_slack_id: str | None = None,
) -> GrantOutcome:
    """Give someone a role on a space or project for a limited time, then take it back.

    Phases: plan → approval (always: access is a privilege; neither the requester nor the
    person getting the access may approve) → grant → record the grant with its expiry and
    schedule its revoke → report. A second approved request for a grant that is still open
    moves its expiry instead. Standing access is never removed at expiry: the revoke undoes
    only what this grant added.

    Args:
        spec: Who, which role, where, for how long, and why.
        dry_run: Plan only; change nothing.
        trigger: What started the run; ``requested_by`` may not approve.
        policy: Name of the saved runbook policy block (account, approvals, Slack).
        access_policy: Name of the saved temporary access policy (maximum duration, roles).
        requester_slack_id: Slack user to tell the outcome (set by the Slack request form).

    Raises:
        SpecError: too long, a forbidden role, or an unknown user, space, project or role;
            nothing changed.
        PlanDrift: live state changed after approval; nothing applied.
        ApprovalTimeout: nobody approved in time; nothing applied.
        ApplyFailed: the grant failed after its retries (its record expires and is swept).
        NotConverged: verification found the grant did not take effect.
    """
    trigger = resolve_trigger(trigger)
    started = datetime.now(UTC)
    runbook_policy = await load_policy(policy)

    async def replan() -> GrantPlan:
        return await plan_grant_task(runbook_policy.credentials, spec)

    try:
        (await load_access_policy(access_policy)).check(spec)
        planned = await replan()
    except SpecError as ex:
        await notify_requester(runbook_policy, requester_slack_id,
                               f"Refused, nothing was changed: {ex}")
        raise
    plan, target = planned.plan, planned.target
    async with get_client() as client:
        # This very run may have recorded its grant, then crashed and been rescheduled.
        own = await read_grant(client, _grant_id_of_run())
        open_grant = await find_open_grant(
            client, user_id=target.user_id, role_id=target.role_id, resource_id=target.resource_id
        )
    if own is not None and own.end is not None and not dry_run:
        # Revoked (or expired) since: a rerun grants nothing again.
        return await _ended_before_granted(own, plan, trigger, started, runbook_policy,
                                           requester_slack_id)
    if open_grant is not None and own is not None and open_grant.id == own.id:
        open_grant = None  # finish this run's grant, do not extend it
    if open_grant is not None:
        plan.notes.append(
            f"extends grant {open_grant.id} (now until {open_grant.expires_at:%H:%M:%S} UTC) by "
            f"{describe_duration(spec.duration)} from approval: {spec.reason}"
        )
    await publish_plan(plan)
    if dry_run:
        report = await write_report(plan, RunStatus.DRY_RUN, trigger, started)
        return GrantOutcome(result=GrantResult.DRY_RUN, message=plan.render_text(), report=report)
    if own is not None and not plan.changes:
        # Approved and applied before the crash; only the record and the revoke are left.
        return await _finish(own, planned, plan, trigger, started, [], None, runbook_policy,
                             requester_slack_id)
    if open_grant is None and not plan.changes:
        report = await write_report(plan, RunStatus.NO_CHANGES, trigger, started)
        message = f"{spec.email} already has {spec.role} on {target.resource} (standing access)."
        await notify_requester(runbook_policy, requester_slack_id, message)
        return GrantOutcome(result=GrantResult.STANDING, message=message, report=report)

    # Neither the person getting the access nor anyone the trigger names as asking may approve,
    # whether or not the service signed the trigger.
    protected = [spec.email, *claimed_requesters(trigger)]
    # Approvers may be named per space; the gate, the Slack handler and the CLI all see them.
    space_policy = runbook_policy.model_copy(
        update={"approval": runbook_policy.approval.for_space(spec.space)}
    )
    decision = await require_approval(plan, space_policy, trigger, protected=protected)
    if not decision.approved:
        report = await write_report(plan, RunStatus.REJECTED, trigger, started, decision=decision)
        message = f"Your request for {spec.role} on {target.resource} was refused by " \
                  f"{decision.approver}. {decision.comment}".strip()
        await notify_requester(runbook_policy, requester_slack_id, message)
        return GrantOutcome(result=GrantResult.REJECTED, message=message, report=report)

    expires_at = clock.now() + spec.duration
    if open_grant is not None:
        return await _extend(open_grant, expires_at, spec, plan, trigger, started, decision,
                             runbook_policy, requester_slack_id)

    grant = await _record_pending(spec, planned, trigger, decision.approver, expires_at,
                                  requester_slack_id)
    if grant.end is not None:
        return await _ended_before_granted(grant, plan, trigger, started, runbook_policy,
                                           requester_slack_id, decision)
    context = StepContext(
        credentials=runbook_policy.credentials, key_store=runbook_policy.key_store
    )
    ensure_no_drift(plan, (await replan()).plan)
    results = await apply_plan(plan, context, max_parallel=1,
                               rate_limit_name=runbook_policy.rate_limit)
    return await _finish(grant, await replan(), plan, trigger, started, results, decision,
                         runbook_policy, requester_slack_id)


async def _finish(
    grant: AccessGrant,
    after: GrantPlan,
    plan: Plan,
    trigger: Trigger,
    started: datetime,
    results: list[StepResult],
    decision: ApprovalDecision | None,
    policy: RunbookPolicy,
    requester_slack_id: str | None,
) -> GrantOutcome:
    """Verify, record the binding the grant made, schedule its revoke, report, tell.

    The grant may have been ended (``access revoke``, "Revoke now") while it was being applied:
    that revoke found no binding yet and removed nothing. The end marker is checked again here,
    after the binding exists, in the same compare-and-set that records it; an ended grant's
    binding is removed by this run, so no access outlives its grant.
    """
    ensure_converged(after.plan)
    binding_id = after.target.live_binding_id
    granted_at = grant.granted_at or datetime.now(UTC)

    def record_binding(current: AccessGrant) -> AccessGrant | None:
        if current.end is not None:
            return None  # ended meanwhile: write nothing, undo below
        if current.binding_id == binding_id and current.granted_at is not None:
            return None  # a rerun after the record was written
        return current.model_copy(update={"binding_id": binding_id, "granted_at": granted_at})

    async with get_client() as client:
        await update_grant(client, grant.id, record_binding)
        # Read again: an end claimed between that read and its write is not seen by the write
        # (the end marker is its own Variable). Its revoke found the binding, as it existed by
        # then; the undo below finds it gone and only reports.
        grant = await read_grant(client, grant.id) or grant
    if grant.end is not None:
        return await _undo(grant.model_copy(update={"binding_id": binding_id}), plan, trigger,
                           started, results, decision, policy, requester_slack_id)
    await _schedule_revoke(grant)
    report = await write_report(plan, RunStatus.COMPLETED, trigger, started, results, decision,
                                notes=[f"grant {grant.id}: {grant.describe()}"])
    message = f"Granted: {grant.describe()} (grant {grant.id})."
    await notify_requester(policy, requester_slack_id, message, grant_id=grant.id)
    return GrantOutcome(result=GrantResult.GRANTED, grant_id=grant.id,
                        expires_at=grant.expires_at, message=message, report=report)


async def _record_pending(
    spec: GrantTemporaryAccessSpec,
    planned: GrantPlan,
    trigger: Trigger,
    approver: str,
    expires_at: datetime,
    requester_slack_id: str | None,
) -> AccessGrant:
    """Record the grant before granting, so even a run that dies next leaves it to the sweeper.

    The grant id comes from the flow run: a run that Prefect restarts finds its own record
    (and keeps its first expiry) instead of recording a second grant.
    """
    run_id = flow_run.id
    grant_id = _grant_id_of_run()
    async with get_client() as client:
        existing = await read_grant(client, grant_id)
        if existing is not None:
            return existing
        target = planned.target
        grant = AccessGrant(
            id=grant_id,
            email=spec.email,
            user_id=target.user_id,
            role=spec.role,
            role_id=target.role_id,
            resource_type=target.resource_type.value,
            resource_id=target.resource_id,
            resource=target.resource,
            previous_role_id=target.live_role_id,
            binding_id=None,
            recorded_at=datetime.now(UTC) - timedelta(seconds=1),
            expires_at=expires_at,
            reason=spec.reason,
            ticket=spec.ticket,
            requested_by=trigger.requested_by,
            requester_slack_id=requester_slack_id,
            approved_by=approver,
            run_id=str(run_id) if run_id else None,
        )
        return await create_grant(client, grant)


def _grant_id_of_run() -> str:
    """The grant id this run records: from the flow run id, so a restarted run finds its own."""
    run_id = flow_run.id
    return uuid.UUID(str(run_id)).hex[:12] if run_id else uuid.uuid4().hex[:12]


async def _ended_before_granted(
    grant: AccessGrant,
    plan: Plan,
    trigger: Trigger,
    started: datetime,
    policy: RunbookPolicy,
    requester_slack_id: str | None,
    decision: ApprovalDecision | None = None,
) -> GrantOutcome:
    """The run's grant ended before the run applied it: apply nothing, say so."""
    reason = grant.end.reason if grant.end else "ended"
    message = f"Not granted: grant {grant.id} already ended ({reason}); nothing was changed."
    return await _report_ended(grant, message, plan, trigger, started, [], decision, policy,
                               requester_slack_id, notes=[message])


async def _undo(
    grant: AccessGrant,
    plan: Plan,
    trigger: Trigger,
    started: datetime,
    results: list[StepResult],
    decision: ApprovalDecision | None,
    policy: RunbookPolicy,
    requester_slack_id: str | None,
) -> GrantOutcome:
    """Remove the binding this run just made for a grant that ended while it was applied."""
    assert grant.end is not None
    context = StepContext(credentials=policy.credentials, key_store=policy.key_store)
    undo = await plan_revoke(policy.credentials, grant)
    await apply_plan(undo, context, max_parallel=1, rate_limit_name=policy.rate_limit)
    ensure_converged(await plan_revoke(policy.credentials, grant))
    said = [c.describe() for c in undo.changes] or undo.in_place
    if undo.changes:
        # The revoke that ended it found nothing to remove; its marker should say what did.
        outcome = "; ".join(["removed by the grant run, which granted after the end", *said])
        async with get_client() as client:
            await finish_end(client, grant.id,
                             grant.end.model_copy(update={"done": True, "outcome": outcome}))
    what = "the access was removed again" if undo.changes else "; ".join(said)
    message = f"Not granted: grant {grant.id} ended while it was being applied " \
              f"({grant.end.reason}); {what}."
    return await _report_ended(grant, message, plan, trigger, started, results, decision,
                               policy, requester_slack_id, notes=[message, *said])


async def _report_ended(
    grant: AccessGrant,
    message: str,
    plan: Plan,
    trigger: Trigger,
    started: datetime,
    results: list[StepResult],
    decision: ApprovalDecision | None,
    policy: RunbookPolicy,
    requester_slack_id: str | None,
    notes: list[str],
) -> GrantOutcome:
    """The report and the requester's message of a run whose grant ended: result ENDED."""
    report = await write_report(plan, RunStatus.FAILED, trigger, started, results, decision,
                                notes=notes)
    await notify_requester(policy, requester_slack_id, message)
    return GrantOutcome(result=GrantResult.ENDED, grant_id=grant.id, message=message,
                        report=report)


async def _extend(
    grant: AccessGrant,
    expires_at: datetime,
    spec: GrantTemporaryAccessSpec,
    plan: Plan,
    trigger: Trigger,
    started: datetime,
    decision: ApprovalDecision,
    policy: RunbookPolicy,
    requester_slack_id: str | None,
) -> GrantOutcome:
    note = f"extended to {expires_at:%Y-%m-%d %H:%M:%S} UTC by {decision.approver}: {spec.reason}"
    try:
        async with get_client() as client:
            grant = await extend_grant(client, grant.id, expires_at, note)
    except GrantEnded as ex:
        report = await write_report(plan, RunStatus.FAILED, trigger, started, decision=decision,
                                    notes=[str(ex)])
        message = f"Not extended: {ex}."
        await notify_requester(policy, requester_slack_id, message)
        return GrantOutcome(result=GrantResult.REJECTED, grant_id=grant.id, message=message,
                            report=report)
    await _schedule_revoke(grant)
    report = await write_report(plan, RunStatus.COMPLETED, trigger, started, decision=decision,
                                notes=[f"grant {grant.id} {note}"])
    message = f"Extended: {grant.describe()} (grant {grant.id})."
    await notify_requester(policy, requester_slack_id, message, grant_id=grant.id)
    return GrantOutcome(result=GrantResult.EXTENDED, grant_id=grant.id,
                        expires_at=grant.expires_at, message=message, report=report)


async def _schedule_revoke(grant: AccessGrant) -> None:
    """One revoke run at the expiry; the key makes a retried schedule the same run.

    Without the deployment (a local run) the sweeper deployment is the only revoke.
    """
    try:
        await arun_deployment(
            REVOKE_DEPLOYMENT,
            parameters={"grant_id": grant.id},
            scheduled_time=grant.expires_at,
            idempotency_key=f"revoke:{grant.id}:{grant.expires_at.isoformat()}",
            timeout=0,
            as_subflow=False,
        )
    except ObjectNotFound:
        get_run_logger().warning(
            "deployment %s not found: grant %s is revoked by the sweeper only",
            REVOKE_DEPLOYMENT, grant.id,
        )
