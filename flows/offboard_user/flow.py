"""offboard-user: inventory a leaver's access, revoke their keys, delete them, keep the record."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow

import flows.offboard_user.steps  # noqa: F401  (registers the leave-organization step)
from flows.engine import execute_plan, load_policy, resolve_trigger
from flows.offboard_user.audit import build_record, write_audit_record
from flows.offboard_user.plan import OffboardPlan, plan_offboard_user
from flows.offboard_user.snapshot import from_inventory
from flows.offboard_user.snapshot_store import save_snapshot
from flows.offboard_user.spec import OffboardUserSpec
from tasks.planner import planning_task
from tasks.reporting.report import RunbookOutcome, RunStatus
from tasks.triggers import TriggerParam

plan_offboard_user_task = planning_task(
    plan_offboard_user, name="Plan offboard-user", task_run_name="plan offboard-user {spec.email}"
)


@flow(name="offboard-user", persist_result=True)
async def offboard_user(
    spec: OffboardUserSpec,
    dry_run: bool = False,
    trigger: TriggerParam = None,
    policy: str = "default",
) -> RunbookOutcome:
    """Offboard a leaver: revoke their API keys, delete (block) the user, write the audit record.

    Once the run is cleared to apply and before anything changes, what they had (bindings,
    with the organizations of their spaces) is added to their access snapshot; with
    ``spec.keep_account`` the account is emptied instead of deleted, so restore-user can give
    that access back on a reactivation.

    The plan inventories everything the person has (account role, role bindings, user API keys,
    service keys they created). Revoking and deleting are destructive, so the run waits for an
    approval; the leaver may not approve. Service keys they created are reported and kept
    unless ``spec.revoke_service_keys``. A user that does not exist is a successful no-op.

    Args:
        spec: Who is leaving (email or user id), why, and the ticket.
        dry_run: Plan only; change nothing.
        trigger: What started the run (an HR webhook fills it in; empty for manual runs).
        policy: Name of the saved runbook policy block (account, approvals, key store).

    Raises:
        SpecError: the user is the last active account admin, or owns the runbook's
            credentials; nothing changed.
        PlanDrift: live state changed after approval; nothing applied.
        ApprovalTimeout: nobody approved in time; nothing applied.
        ApplyFailed: a change failed after its retries.
        NotConverged: verification found the user or a key still there.
    """
    started = datetime.now(UTC)
    trigger = resolve_trigger(trigger)
    runbook_policy = await load_policy(policy)

    async def replan() -> OffboardPlan:
        return await plan_offboard_user_task(runbook_policy.credentials, spec)

    plan = await replan()
    protected = [plan.inventory.email] if plan.inventory.email else []

    async def keep_what_they_had() -> None:
        # Once cleared to apply, before anything is taken away: what they had, for a
        # reactivation (restore-user). A rejected or expired run keeps nothing.
        if plan.inventory.found:
            await save_snapshot(from_inventory(plan.inventory, spec.idp_groups))

    outcome, results = await execute_plan(
        plan,
        replan,
        runbook_policy,
        trigger,
        dry_run=dry_run,
        started=started,
        protected=protected,
        before_apply=keep_what_they_had,
    )
    if outcome.status is RunStatus.COMPLETED:
        record = build_record(spec, plan.inventory, outcome, results)
        await write_audit_record(record, spec.audit_dir)
    return outcome
