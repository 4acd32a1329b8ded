"""Ending a temporary grant: remove exactly what it added, once, whoever gets there first.

The rule that keeps standing access: the revoke acts only on the binding the grant recorded,
and only while that binding still holds the granted role. Then it deletes the binding (the
person had none before) or puts the previous role back (the grant was an elevation). It leaves
everything else, because anything else is someone's standing decision made during the window:

- the binding's role was changed since the grant: the new role stays;
- the binding was deleted and created again: a different binding; it stays;
- an admin made the grant itself standing (``arize-runbooks access keep``): it stays.

A pending grant (its run died between granting and recording the binding) is matched by user,
resource and role, and only if the binding changed after the grant was recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import get_client, task

from arize_admin import AsyncArizeAdmin, NotFoundError, RoleBinding
from blocks.arize import ArizeCredentials
from core.planning.changes import RebindRole, UnbindRole
from core.planning.plan import Plan, ensure_converged
from flows.time_bound_access.records import AccessGrant, GrantEnd, claim_end, finish_end, read_grant
from tasks.retry import STEP_OPTIONS
from tasks.steps.apply import apply_plan
from tasks.steps.step import StepContext

RUNBOOK = "revoke-temporary-access"


@task(name="Plan revoke", task_run_name="plan revoke of grant {grant.id}", **STEP_OPTIONS)
async def plan_revoke(credentials: ArizeCredentials, grant: AccessGrant) -> Plan:
    """The change that removes what ``grant`` added, or none (with the reason). Reads only."""
    plan = Plan(runbook=RUNBOOK, subject=f"{grant.email} on {grant.resource}")
    what = f"temporary {grant.role} of {grant.email} on {grant.resource}"
    if grant.standing:
        plan.in_place.append(f"{what}: made standing during the window; left in place")
        return plan
    async with credentials.get_client() as client:
        live = await _granted_binding(client, grant)
        previous = await _previous_role_exists(client, grant)
        plan.api_calls = client.request_count
    if live is None:
        plan.in_place.append(f"{what}: the grant's binding is gone; nothing to remove")
    elif live.role_id != grant.role_id:
        plan.in_place.append(f"{what}: the role was changed since the grant; left in place")
    elif grant.previous_role_id is None or not previous:
        plan.changes.append(
            UnbindRole(
                target=what,
                binding_id=live.id,
                user_id=grant.user_id,
                resource_id=live.resource_id,
                destructive=True,
                reason=f"grant {grant.id} ended",
            )
        )
    else:
        plan.changes.append(
            RebindRole(
                target=what,
                binding_id=live.id,
                role_id=grant.previous_role_id,
                resource_id=live.resource_id,
                destructive=True,
                reason=f"grant {grant.id} ended; the previous role is restored",
            )
        )
    return plan


async def _granted_binding(client: AsyncArizeAdmin, grant: AccessGrant) -> RoleBinding | None:
    if grant.binding_id is not None:
        try:
            return await client.role_bindings.get(grant.binding_id)
        except NotFoundError:
            return None
    async for binding in client.role_bindings.list(
        resource_type=grant.resource_type, user_id=grant.user_id
    ):
        if binding.resource_id == grant.resource_id and binding.updated_at >= grant.recorded_at:
            return binding
    return None


async def _previous_role_exists(client: AsyncArizeAdmin, grant: AccessGrant) -> bool:
    """A previous role deleted meanwhile cannot be restored; the binding is removed instead."""
    if grant.previous_role_id is None:
        return False
    try:
        await client.roles.get(grant.previous_role_id)
    except NotFoundError:
        return False
    return True


async def end_grant(
    grant_id: str, context: StepContext, *, by: str, reason: str
) -> tuple[AccessGrant, GrantEnd, Plan]:
    """End the grant: claim its end, remove what it added, verify, mark it done.

    Safe to run twice, concurrently, or after a run cut off half-way: the end marker is
    written once, the removal is idempotent and re-planned from live state.

    Returns:
        The grant, its end marker and the plan that was applied.

    Raises:
        LookupError: no grant has this id.
        ApplyFailed: the removal failed after its retries (the sweeper tries again).
        NotConverged: the access was still there after the removal.
    """
    async with get_client() as prefect:
        grant = await read_grant(prefect, grant_id)
        if grant is None:
            raise LookupError(f"no access grant {grant_id!r}; see `arize-runbooks access list`")
        end = await claim_end(
            prefect, grant_id, GrantEnd(at=datetime.now(UTC), by=by, reason=reason)
        )
    if end.done:
        return grant, end, Plan(runbook=RUNBOOK, subject=f"{grant.email} on {grant.resource}")
    plan = await plan_revoke(context.credentials, grant)
    await apply_plan(plan, context)
    ensure_converged(await plan_revoke(context.credentials, grant))
    said = [c.describe() for c in plan.changes] or plan.in_place
    end = end.model_copy(update={"done": True, "outcome": "; ".join(said)})
    async with get_client() as prefect:
        await finish_end(prefect, grant_id, end)
    grant.end = end
    return grant, end, plan
