"""A planner as a Prefect task: open the Arize client from its block, plan, close the client.

Planners (``flows/<runbook>/plan.py``) take an ``AsyncArizeAdmin``, never a block, so they run
without Prefect; this is the one place a flow's planning step gets its client, its retries on
transient errors and its name in the Prefect UI.
"""

from __future__ import annotations

from typing import Any, TypeVar

from prefect import Task, task

from blocks.arize import ArizeCredentials
from core.planning.context import PlanContext, Planner
from tasks.retry import STEP_OPTIONS

SpecT = TypeVar("SpecT")
PlanT = TypeVar("PlanT")


def planning_task(
    planner: Planner[SpecT, PlanT], *, name: str, task_run_name: str
) -> Task[..., PlanT]:
    """The Prefect task that runs ``planner`` against the account of a credentials block.

    Args:
        planner: The runbook's planner.
        name: The task's name in the Prefect UI ("Plan onboard-team").
        task_run_name: Each run's name; may name the spec's fields ("plan {spec.space}").

    Example:
        ```python
        plan_team = planning_task(plan_onboard_team, name="Plan onboard-team",
                                  task_run_name="plan onboard-team {spec.space}")

        @flow
        async def preview(spec: OnboardTeamSpec) -> str:
            policy = await RunbookPolicy.aload("default")
            plan = await plan_team(policy.credentials, spec, PlanContext(keys=policy.key_store))
            return plan.render_text()
        ```
    """

    async def plan(
        credentials: ArizeCredentials, spec: Any, context: PlanContext | None = None
    ) -> PlanT:
        async with credentials.get_client() as client:
            return await planner(client, spec, context or PlanContext())

    plan.__doc__ = planner.__doc__
    return task(plan, name=name, task_run_name=task_run_name, **STEP_OPTIONS)
