"""The idempotent steps of account-as-code's own changes, registered with the shared apply.

Each reads before it writes, so a rerun after a cut-off apply finds its work done.
"""

from __future__ import annotations

from prefect import task

from flows.account_as_code.changes import RenameRole, UnrestrictProject, UpdateSpace
from tasks.retry import STEP_OPTIONS
from tasks.steps.apply import add_step
from tasks.steps.step import Outcome, StepContext, StepResult, remove_if_present


@task(name="Rename role", task_run_name="rename role {change.target}", **STEP_OPTIONS)
async def rename_role(ctx: StepContext, change: RenameRole) -> StepResult:
    """Give the role (found by id) the planned name, unless it has it already."""
    async with ctx.credentials.get_client() as client:
        role = await client.roles.get(change.role_id)
        outcome = Outcome.ALREADY
        if role.name != change.name:
            await client.roles.update(change.role_id, name=change.name)
            outcome = Outcome.APPLIED
        calls = client.request_count
    return StepResult(
        change_key=change.key, outcome=outcome, refs={f"role:{change.name}": change.role_id},
        api_calls=calls,
    )


@task(name="Update space", task_run_name="update space {change.target}", **STEP_OPTIONS)
async def update_space(ctx: StepContext, change: UpdateSpace) -> StepResult:
    """Give the space (found by id) the planned name and description, unless it has them."""
    async with ctx.credentials.get_client() as client:
        space = await client.spaces.get(change.space_id)
        outcome = Outcome.ALREADY
        if space.name != change.name or (space.description or "") != change.description:
            await client.spaces.update(
                change.space_id, name=change.name, description=change.description or None
            )
            outcome = Outcome.APPLIED
        calls = client.request_count
    return StepResult(
        change_key=change.key, outcome=outcome, refs={f"space:{change.name}": change.space_id},
        api_calls=calls,
    )


@task(name="Unrestrict project", task_run_name="unrestrict {change.target}", **STEP_OPTIONS)
async def unrestrict_project(ctx: StepContext, change: UnrestrictProject) -> StepResult:
    """Lift the restriction; one already lifted counts as done."""
    async with ctx.credentials.get_client() as client:
        outcome = await remove_if_present(
            lambda: client.resource_restrictions.unrestrict(change.project_id)
        )
        calls = client.request_count
    return StepResult(change_key=change.key, outcome=outcome, api_calls=calls)


add_step(RenameRole, rename_role)
add_step(UpdateSpace, update_space)
add_step(UnrestrictProject, unrestrict_project)
