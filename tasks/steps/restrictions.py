"""Step: restrict a project to the people bound on it directly."""

from __future__ import annotations

from prefect import task

from core.planning.changes import RestrictProject
from tasks.retry import STEP_OPTIONS
from tasks.steps.step import Outcome, StepContext, StepResult


@task(name="Restrict project", task_run_name="restrict {change.target}", **STEP_OPTIONS)
async def restrict_project(ctx: StepContext, change: RestrictProject) -> StepResult:
    """Restrict the project; Arize's restrict is idempotent, so a retry is harmless.

    Example:
        ```python
        change = RestrictProject(target="fraud/fraud-model", project_id="TW9kZWw...",
                                 space="fraud", destructive=True)
        await restrict_project(ctx, change)
        ```
    """
    async with ctx.credentials.get_client() as client:
        await client.resource_restrictions.restrict(resource_id=change.project_id)
        calls = client.request_count
    return StepResult(change_key=change.key, outcome=Outcome.APPLIED, api_calls=calls)
