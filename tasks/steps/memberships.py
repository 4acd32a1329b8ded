"""Steps on memberships: a user's predefined role in an organization and in a space.

Arize's admin API can set these (an upsert) but cannot read them back, so these steps are
re-asserted on every run; setting the role a member already has changes nothing.
"""

from __future__ import annotations

from prefect import task

from arize_admin import CustomRole, PredefinedRole
from core.planning.changes import SetOrgRole, SetSpaceRole
from tasks.retry import STEP_OPTIONS
from tasks.steps.step import Outcome, StepContext, StepResult, resolve_user_id


@task(name="Set org role", task_run_name="set org role {change.target}", **STEP_OPTIONS)
async def set_org_role(ctx: StepContext, change: SetOrgRole) -> StepResult:
    """Make the user a member of the organization with the planned predefined role.

    Example:
        ```python
        change = SetOrgRole(target="dana@acme.example in Acme", org_id="T3Jn...",
                            email="dana@acme.example", role="MEMBER")
        await set_org_role(ctx, change)
        ```
    """
    async with ctx.credentials.get_client() as client:
        user_id = await resolve_user_id(ctx, client, change.email)
        await client.organizations.add_user(
            change.org_id, user_id=user_id, role=PredefinedRole(name=change.role)
        )
        calls = client.request_count
    return StepResult(change_key=change.key, outcome=Outcome.APPLIED, api_calls=calls)


@task(name="Set space role", task_run_name="set space role {change.target}", **STEP_OPTIONS)
async def set_space_role(ctx: StepContext, change: SetSpaceRole) -> StepResult:
    """Make the user a member of the space with the planned predefined or custom role.

    Example:
        ```python
        change = SetSpaceRole(target="dana@acme.example in ml", space="ml",
                              email="dana@acme.example", role="MEMBER")
        await set_space_role(ctx, change)
        ```
    """
    space_id = change.space_id or ctx.ref("space", change.space)
    if space_id is None:
        raise LookupError(f"space {change.space!r} was not created by an earlier stage")
    async with ctx.credentials.get_client() as client:
        user_id = await resolve_user_id(ctx, client, change.email)
        role: PredefinedRole | CustomRole = PredefinedRole(name=change.role)
        if change.custom:
            role_id = ctx.ref("role", change.role)
            if role_id is None:
                found = await client.roles.find_by_name(change.role)
                if found is None:
                    raise LookupError(f"custom role {change.role!r} does not exist")
                role_id = found.id
            role = CustomRole(id=role_id)
        await client.spaces.add_user(space_id, user_id=user_id, role=role)
        calls = client.request_count
    return StepResult(change_key=change.key, outcome=Outcome.APPLIED, api_calls=calls)
