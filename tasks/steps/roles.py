"""Steps on custom roles: create, update to match the spec, delete."""

from __future__ import annotations

from prefect import task

from core.planning.changes import CreateRole, DeleteRole, UpdateRole
from tasks.retry import STEP_OPTIONS
from tasks.steps.step import Outcome, StepContext, StepResult, find_or_create, remove_if_present


@task(name="Ensure role", task_run_name="ensure role {change.target}", **STEP_OPTIONS)
async def ensure_role(ctx: StepContext, change: CreateRole) -> StepResult:
    """Create the custom role unless a role of that name exists.

    Example:
        ```python
        change = CreateRole(target="Fraud Analyst", name="Fraud Analyst",
                            permissions=["PROJECT_READ"])
        await ensure_role(ctx, change)
        ```
    """
    async with ctx.credentials.get_client() as client:
        role, outcome = await find_or_create(
            lambda: client.roles.find_by_name(change.name),
            lambda: client.roles.create(
                name=change.name,
                permissions=change.permissions,
                description=change.description or None,
            ),
        )
        calls = client.request_count
    return StepResult(
        change_key=change.key,
        outcome=outcome,
        refs={f"role:{change.name}": role.id},
        api_calls=calls,
    )


@task(name="Update role", task_run_name="update role {change.target}", **STEP_OPTIONS)
async def update_role(ctx: StepContext, change: UpdateRole) -> StepResult:
    """Set the role's permissions (and description) to exactly the planned ones.

    Example:
        ```python
        change = UpdateRole(target="Fraud Analyst", role_id="Um9sZT...", name="Fraud Analyst",
                            permissions=["PROJECT_READ"])
        await update_role(ctx, change)
        ```
    """
    wanted = sorted(change.permissions)
    async with ctx.credentials.get_client() as client:
        role = await client.roles.get(change.role_id)
        same = sorted(role.permissions) == wanted and (role.description or "") == change.description
        if not same:
            await client.roles.update(
                change.role_id, permissions=wanted, description=change.description or None
            )
        calls = client.request_count
    outcome = Outcome.ALREADY if same else Outcome.APPLIED
    return StepResult(change_key=change.key, outcome=outcome, api_calls=calls)


@task(name="Delete role", task_run_name="delete role {change.target}", **STEP_OPTIONS)
async def delete_role(ctx: StepContext, change: DeleteRole) -> StepResult:
    """Delete a custom role; a role already gone counts as done.

    Example:
        ```python
        await delete_role(ctx, DeleteRole(target="Old Role", role_id="Um9sZT...",
                                          destructive=True))
        ```
    """
    async with ctx.credentials.get_client() as client:
        outcome = await remove_if_present(lambda: client.roles.delete(change.role_id))
        calls = client.request_count
    return StepResult(change_key=change.key, outcome=outcome, api_calls=calls)
