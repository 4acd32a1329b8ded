"""restrict-project: limit a project to named people without a moment of lockout."""

from __future__ import annotations

from prefect import flow

from flows.engine import execute_plan, load_policy, resolve_trigger
from flows.restrict_project.plan import plan_restrict_project
from flows.restrict_project.spec import RestrictProjectSpec
from tasks.planner import planning_task
from tasks.reporting.report import RunbookOutcome
from tasks.triggers import TriggerParam

plan_restrict_project_task = planning_task(
    plan_restrict_project,
    name="Plan restrict-project",
    task_run_name="plan restrict-project {spec.space}/{spec.project}",
)


@flow(name="restrict-project", persist_result=True)
async def restrict_project(
    spec: RestrictProjectSpec,
    dry_run: bool = False,
    trigger: TriggerParam = None,
    policy: str = "default",
) -> RunbookOutcome:
    """Restrict a project to the listed people, each with a custom role bound on the project.

    The order is what makes it safe: first every allowed person gets their PROJECT binding,
    then the project is restricted (inherited space access stops counting), and only then are
    the bindings of people not on the list removed. An allowed person never loses access, not
    even for a moment. Restricting and removing bindings are destructive, so a run that does
    either waits for approval.

    Args:
        spec: The space, the project (name or id) and who keeps access with which role.
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
        return await plan_restrict_project_task(runbook_policy.credentials, spec)

    plan = await replan()
    outcome, _ = await execute_plan(plan, replan, runbook_policy, trigger, dry_run=dry_run)
    return outcome
