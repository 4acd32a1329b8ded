"""Step: make sure a space exists."""

from __future__ import annotations

from prefect import task

from core.planning.changes import CreateSpace
from tasks.retry import STEP_OPTIONS
from tasks.steps.step import StepContext, StepResult, find_or_create


@task(name="Ensure space", task_run_name="ensure space {change.target}", **STEP_OPTIONS)
async def ensure_space(ctx: StepContext, change: CreateSpace) -> StepResult:
    """Create the space unless one of that name already exists in the organization.

    Example:
        ```python
        @flow
        async def make_space(ctx: StepContext):
            change = CreateSpace(target="ml-platform", name="ml-platform",
                                 organization_id="T3Jn...")
            return await ensure_space(ctx, change)
        ```
    """
    name, org_id = change.name, change.organization_id
    async with ctx.credentials.get_client() as client:
        space, outcome = await find_or_create(
            lambda: client.spaces.find_by_name(name, org_id=org_id),
            lambda: client.spaces.create(
                name=name, organization_id=org_id, description=change.description or None
            ),
        )
        calls = client.request_count
    return StepResult(
        change_key=change.key, outcome=outcome, refs={f"space:{name}": space.id}, api_calls=calls
    )
