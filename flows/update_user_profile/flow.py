"""update-user-profile: give an Arize user the display name their identity provider has."""

from __future__ import annotations

from prefect import flow

import flows.update_user_profile.steps  # noqa: F401  (registers the rename step)
from flows.engine import execute_plan, load_policy, resolve_trigger
from flows.update_user_profile.plan import plan_update_user_profile
from flows.update_user_profile.spec import UpdateUserProfileSpec
from tasks.planner import planning_task
from tasks.reporting.report import RunbookOutcome
from tasks.triggers import TriggerParam

plan_update_user_profile_task = planning_task(
    plan_update_user_profile,
    name="Plan update-user-profile",
    task_run_name="plan update-user-profile {spec.email}",
)


@flow(name="update-user-profile", persist_result=True)
async def update_user_profile(
    spec: UpdateUserProfileSpec,
    dry_run: bool = False,
    trigger: TriggerParam = None,
    policy: str = "default",
) -> RunbookOutcome:
    """Rename an Arize user (a SCIM ``displayName`` change routes here).

    Not destructive, so no approval: the plan, the rename, a re-plan that verifies it, the
    report. A user not in Arize, or already named so, is a successful no-op.

    Args:
        spec: The user's e-mail and the display name to set.
        dry_run: Plan only; change nothing.
        trigger: What started the run (the webhook service fills it in).
        policy: Name of the saved runbook policy block.

    Raises:
        ApplyFailed: the rename failed after its retries.
        NotConverged: the name read back is not the one set.
    """
    trigger = resolve_trigger(trigger)
    runbook_policy = await load_policy(policy)

    async def replan():
        return await plan_update_user_profile_task(runbook_policy.credentials, spec)

    plan = await replan()
    outcome, _ = await execute_plan(plan, replan, runbook_policy, trigger, dry_run=dry_run)
    return outcome
