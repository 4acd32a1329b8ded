"""rotate-service-keys: refresh due service keys with a grace period; consumers never break."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow

from core.planning.context import PlanContext
from flows.engine import execute_plan, load_policy, resolve_trigger
from flows.rotate_service_keys.plan import (
    RotationPlan,
    plan_rotate_service_keys,
    publish_key_report,
)
from flows.rotate_service_keys.spec import RotateServiceKeysSpec
from tasks.planner import planning_task
from tasks.reporting.report import RunbookOutcome
from tasks.triggers import TriggerParam

plan_rotate_service_keys_task = planning_task(
    plan_rotate_service_keys,
    name="Plan rotate-service-keys",
    task_run_name="plan rotate-service-keys {spec.name_pattern}",
)


@flow(name="rotate-service-keys", persist_result=True)
async def rotate_service_keys(
    spec: RotateServiceKeysSpec,
    dry_run: bool = False,
    trigger: TriggerParam = None,
    policy: str = "default",
) -> RunbookOutcome:
    """Rotate service keys whose secret is too old, replace those about to expire.

    Each due key is refreshed with a grace period, its new value written to the key store, and
    the stored value proven against the API; the old value keeps working for the grace period,
    so a consumer reading the store always holds a valid key, even if the run dies half way. A
    key expiring within the window gets a new key of the same name and roles instead (a refresh
    cannot extend an expiry). Revoking expired keys is destructive and waits for approval.

    Args:
        spec: Which keys (name pattern, space), max age, expiry window, grace period.
        dry_run: Plan only; change nothing.
        trigger: What started the run (the schedule, or empty for manual runs).
        policy: Name of the saved runbook policy block (account, approvals, key store).

    Raises:
        SpecError: the space does not exist or is ambiguous; nothing changed.
        PlanDrift: live state changed after approval; nothing applied.
        ApprovalTimeout: nobody approved the revocations in time; nothing applied.
        ApplyFailed: a key failed after its retries; the stored key is still valid.
        NotConverged: verification found a key still due.
    """
    started = datetime.now(UTC)
    trigger = resolve_trigger(trigger)
    runbook_policy = await load_policy(policy)

    async def replan() -> RotationPlan:
        context = PlanContext(keys=runbook_policy.key_store)
        return await plan_rotate_service_keys_task(runbook_policy.credentials, spec, context)

    plan = await replan()
    outcome, results = await execute_plan(
        plan, replan, runbook_policy, trigger, dry_run=dry_run, started=started
    )
    await publish_key_report(plan, results)
    return outcome
