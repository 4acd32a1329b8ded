"""onboard-team: a team's space, custom roles, people, memberships and CI key."""

from __future__ import annotations

from prefect import flow
from prefect.utilities.annotations import quote

from core.planning.context import PlanContext
from flows.engine import execute_plan, load_policy, resolve_trigger
from flows.onboard_team.plan import plan_onboard_team
from flows.onboard_team.spec import OnboardTeamSpec
from tasks.planner import planning_task
from tasks.reporting.report import RunbookOutcome
from tasks.triggers import TriggerParam

plan_onboard_team_task = planning_task(
    plan_onboard_team, name="Plan onboard-team", task_run_name="plan onboard-team {spec.space}"
)


@flow(name="onboard-team", persist_result=True)
async def onboard_team(
    spec: OnboardTeamSpec,
    dry_run: bool = False,
    trigger: TriggerParam = None,
    policy: str = "default",
) -> RunbookOutcome:
    """Onboard a team: space, custom roles, invitations, org and space roles, a CI service key.

    Existing users are reused, never re-invited. Nothing here is destructive unless the spec
    narrows an existing role's permissions or lowers a member's space role; then the run waits
    for approval.

    Args:
        spec: The team: organization, space, roles, members, optional CI key.
        dry_run: Plan only; change nothing.
        trigger: What started the run (filled in by webhooks; empty for manual runs).
        policy: Name of the saved runbook policy block (account, approvals, key store).

    Raises:
        SpecError: the spec names something that does not exist; nothing changed.
        PlanDrift: live state changed after approval; nothing applied.
        ApprovalTimeout: nobody approved in time; nothing applied.
        ApplyFailed: a change failed after its retries.
        NotConverged: verification found a change that did not take effect.
    """
    trigger = resolve_trigger(trigger)
    runbook_policy = await load_policy(policy)

    async def replan():
        # quote: a spec of thousands of members is not walked looking for futures.
        context = PlanContext(keys=runbook_policy.key_store)
        return await plan_onboard_team_task(runbook_policy.credentials, quote(spec), context)

    plan = await replan()
    outcome, _ = await execute_plan(plan, replan, runbook_policy, trigger, dry_run=dry_run)
    return outcome
