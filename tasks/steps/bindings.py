"""Steps on role bindings: bind a custom role on a space or project, change it, remove it."""

from __future__ import annotations

from prefect import task

from arize_admin import RoleBindingResourceType
from core.planning.changes import BindRole, RebindRole, UnbindRole
from tasks.retry import STEP_OPTIONS
from tasks.steps.step import (
    Outcome,
    StepContext,
    StepResult,
    find_or_create,
    remove_if_present,
    resolve_user_id,
)


@task(name="Bind role", task_run_name="bind {change.target}", **STEP_OPTIONS)
async def bind_role(ctx: StepContext, change: BindRole) -> StepResult:
    """Bind the custom role to the user on the resource, unless the binding exists.

    The role and the resource are ids, or names created by an earlier stage (``role``,
    ``space``).

    Example:
        ```python
        change = BindRole(target="Project Viewer to dana on fraud-model",
                          email="dana@acme.example", role="Project Viewer",
                          role_id="Um9sZT...", resource_type="PROJECT",
                          resource_id="TW9kZWw...")
        await bind_role(ctx, change)
        ```
    """
    resource_type = RoleBindingResourceType(change.resource_type)
    resource_id = change.resource_id or ctx.ref("space", change.space or "")
    role_id = change.role_id or ctx.ref("role", change.role or "")
    if resource_id is None or role_id is None:
        raise LookupError(f"binding {change.target}: role or resource was not created earlier")
    async with ctx.credentials.get_client() as client:
        user_id = await resolve_user_id(ctx, client, change.email)

        async def find() -> object | None:
            async for binding in client.role_bindings.list(
                resource_type=resource_type, user_id=user_id
            ):
                if binding.resource_id == resource_id:
                    return binding
            return None

        binding, outcome = await find_or_create(
            find,
            lambda: client.role_bindings.create(
                user_id=user_id,
                role_id=role_id,
                resource_type=resource_type,
                resource_id=resource_id,
            ),
        )
        if binding.role_id != role_id:
            await client.role_bindings.update(binding.id, role_id=role_id)
            outcome = Outcome.APPLIED
        calls = client.request_count
    return StepResult(change_key=change.key, outcome=outcome, api_calls=calls)


@task(name="Rebind role", task_run_name="rebind {change.target}", **STEP_OPTIONS)
async def rebind_role(ctx: StepContext, change: RebindRole) -> StepResult:
    """Point an existing binding at another role.

    Example:
        ```python
        await rebind_role(ctx, RebindRole(target="dana on ml", binding_id="Um9sZUJ...",
                                          role_id="Um9s..."))
        ```
    """
    async with ctx.credentials.get_client() as client:
        binding = await client.role_bindings.get(change.binding_id)
        outcome = Outcome.ALREADY
        if binding.role_id != change.role_id:
            await client.role_bindings.update(change.binding_id, role_id=change.role_id)
            outcome = Outcome.APPLIED
        calls = client.request_count
    return StepResult(change_key=change.key, outcome=outcome, api_calls=calls)


@task(name="Remove binding", task_run_name="unbind {change.target}", **STEP_OPTIONS)
async def unbind_role(ctx: StepContext, change: UnbindRole) -> StepResult:
    """Delete a role binding; one already gone counts as done.

    Example:
        ```python
        await unbind_role(ctx, UnbindRole(target="sam on fraud-model", binding_id="Um9sZUJ...",
                                          user_id="VXNlcj...", destructive=True))
        ```
    """
    async with ctx.credentials.get_client() as client:
        outcome = await remove_if_present(
            lambda: client.role_bindings.delete(change.binding_id)
        )
        calls = client.request_count
    return StepResult(change_key=change.key, outcome=outcome, api_calls=calls)
