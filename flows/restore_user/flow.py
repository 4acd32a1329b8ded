"""restore-user: give a reactivated person the access their snapshot says they had."""

from __future__ import annotations

from prefect import flow, task

from core.planning.context import PlanContext
from flows.engine import execute_plan, load_policy, resolve_trigger
from flows.offboard_user.snapshot_store import load_snapshot, mark_restored
from flows.restore_user.plan import plan_restore_user
from flows.restore_user.spec import RestoreUserSpec
from flows.saml_role_mapping.mapping import load_last_mapping
from tasks.planner import planning_task
from tasks.reporting.report import RunbookOutcome, RunStatus
from tasks.triggers import TriggerParam

plan_restore_user_task = planning_task(
    plan_restore_user, name="Plan restore-user", task_run_name="plan restore-user {spec.email}"
)


@task(name="Load access snapshot", task_run_name="load snapshot")
async def read_snapshot(email: str) -> dict | None:
    """The person's access snapshot as JSON, or None (read once per plan: verification re-reads
    live state against the same snapshot)."""
    snapshot = await load_snapshot(email)
    return snapshot.model_dump(mode="json") if snapshot is not None else None


@flow(name="restore-user", persist_result=True)
async def restore_user(
    spec: RestoreUserSpec,
    dry_run: bool = False,
    trigger: TriggerParam = None,
    policy: str = "default",
) -> RunbookOutcome:
    """Restore a returning person's access from the snapshot offboard-user took.

    Re-invites them if they have no account, then restores their organizations, space roles
    and project bindings, minus what was revoked since (see ``flows/restore_user/plan.py``),
    after an approval while the approval policy's ``gate_restores`` is on (the default) or
    ``spec.require_approval`` asks for one. A rerun finds everything in place.

    Args:
        spec: Who, and their identity-provider groups now.
        dry_run: Plan only; change nothing.
        trigger: What started the run (the webhook service fills it in).
        policy: Name of the saved runbook policy block.

    Raises:
        PlanDrift: live state changed after approval; nothing applied.
        ApprovalTimeout: nobody approved in time; nothing applied.
        ApplyFailed: a change failed after its retries (a deleted account cannot be re-invited).
        NotConverged: verification found a grant that did not take effect.
    """
    trigger = resolve_trigger(trigger)
    runbook_policy = await load_policy(policy)
    snapshot, mapping = await read_snapshot(spec.email), await load_last_mapping()
    context = PlanContext(
        access_snapshot=snapshot, last_mapping=mapping,
        gate_restores=runbook_policy.approval.gate_restores,
    )

    async def replan():
        return await plan_restore_user_task(runbook_policy.credentials, spec, context)

    plan = await replan()
    outcome, _ = await execute_plan(plan, replan, runbook_policy, trigger, dry_run=dry_run)
    if snapshot is not None and outcome.status in (RunStatus.COMPLETED, RunStatus.NO_CHANGES):
        await mark_restored(spec.email)
    return outcome
