"""Steps on role bindings: bind a custom role on a space or project, change it, remove it."""

from __future__ import annotations

from prefect import get_run_logger, task

from arize_admin import RoleBindingResourceType
from tasks.planning.plan import Change
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
async def bind_role(ctx: StepContext, change: Change) -> StepResult:
    """Bind the custom role to the user on the resource, unless the binding exists.

    ``params``: ``email``, ``role`` (name) or ``role_id``, ``resource_type`` (SPACE|PROJECT),
    and ``resource_id`` or ``space`` (a space created by an earlier stage).

    Example:
        ```python
        change = Change(action=Action.BIND_ROLE, target="Project Viewer to dana on fraud-model",
                        params={"email": "dana@acme.example", "role_id": "Um9sZT...",
                                "resource_type": "PROJECT", "resource_id": "TW9kZWw..."})
        await bind_role(ctx, change)
        ```
    """
    params = change.params
    resource_type = RoleBindingResourceType(params["resource_type"])
    resource_id = params.get("resource_id") or ctx.ref("space", params.get("space", ""))
    role_id = params.get("role_id") or ctx.ref("role", params.get("role", ""))
    if resource_id is None or role_id is None:
        raise LookupError(f"binding {change.target}: role or resource was not created earlier")
    async with ctx.credentials.get_client() as client:
        user_id = await resolve_user_id(ctx, client, params["email"])

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
    get_run_logger().info("binding %s: %s", change.target, outcome.value)
    return StepResult(change_key=change.key, outcome=outcome, api_calls=calls)


@task(name="Rebind role", task_run_name="rebind {change.target}", **STEP_OPTIONS)
async def rebind_role(ctx: StepContext, change: Change) -> StepResult:
    """Point an existing binding at another role.

    Example:
        ```python
        await rebind_role(ctx, Change(action=Action.REBIND_ROLE, target="dana on ml",
                                      params={"binding_id": "Um9sZUJ...", "role_id": "Um9s..."}))
        ```
    """
    params = change.params
    async with ctx.credentials.get_client() as client:
        binding = await client.role_bindings.get(params["binding_id"])
        outcome = Outcome.ALREADY
        if binding.role_id != params["role_id"]:
            await client.role_bindings.update(params["binding_id"], role_id=params["role_id"])
            outcome = Outcome.APPLIED
        calls = client.request_count
    get_run_logger().info("rebind %s: %s", change.target, outcome.value)
    return StepResult(change_key=change.key, outcome=outcome, api_calls=calls)


@task(name="Remove binding", task_run_name="unbind {change.target}", **STEP_OPTIONS)
async def unbind_role(ctx: StepContext, change: Change) -> StepResult:
    """Delete a role binding; one already gone counts as done.

    Example:
        ```python
        await unbind_role(ctx, Change(action=Action.UNBIND_ROLE, target="sam on fraud-model",
                                      params={"binding_id": "Um9sZUJ..."}, destructive=True))
        ```
    """
    async with ctx.credentials.get_client() as client:
        outcome = await remove_if_present(
            lambda: client.role_bindings.delete(change.params["binding_id"])
        )
        calls = client.request_count
    get_run_logger().info("unbind %s: %s", change.target, outcome.value)
    return StepResult(change_key=change.key, outcome=outcome, api_calls=calls)
