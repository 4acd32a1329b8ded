"""revoke-temporary-access and revoke-expired-access: end grants on time, belt and braces.

Each grant schedules one ``revoke-temporary-access`` run at its expiry (idempotency key per
grant and expiry). Should that run be lost (the server or worker down at the time, a failure
past its retries), ``revoke-expired-access`` runs every few minutes and ends every grant past
its expiry. Both go through ``end_grant``, which removes only what the grant added.
"""

from __future__ import annotations

from prefect import flow, get_client, get_run_logger
from pydantic import BaseModel

from blocks.policy import RunbookPolicy
from flows.engine import load_policy
from flows.time_bound_access.notices import notify_requester
from flows.time_bound_access.records import AccessGrant, GrantStatus, clock, list_grants, read_grant
from flows.time_bound_access.revoke import end_grant
from tasks.steps.step import StepContext

SWEEPER = "revoke-expired-access"


class RevokeOutcome(BaseModel):
    """How one revoke run ended for one grant."""

    grant_id: str
    status: GrantStatus
    ended: bool
    message: str


@flow(name="revoke-temporary-access", persist_result=True)
async def revoke_temporary_access(
    grant_id: str, early: bool = False, by: str | None = None, policy: str = "default"
) -> RevokeOutcome:
    """End one temporary grant: at its expiry, or early when someone asks.

    A run scheduled for an expiry that was since extended does nothing; so does a run for a
    grant that already ended. Only what the grant added is removed (see ``end_grant``).

    Args:
        grant_id: The grant, as `arize-runbooks access list` shows it.
        early: End it now even if it has not expired (the CLI, Slack's "Revoke now").
        by: Who asked for the early end.
        policy: Name of the saved runbook policy block (account, Slack).

    Raises:
        LookupError: no grant has this id.
        ApplyFailed: the removal failed after its retries; the sweeper tries again.
    """
    logger = get_run_logger()
    async with get_client() as client:
        grant = await read_grant(client, grant_id)
    if grant is None:
        raise LookupError(f"no access grant {grant_id!r}; see `arize-runbooks access list`")
    if grant.status is GrantStatus.ENDED:
        logger.info("grant %s already ended: %s", grant_id, grant.end.reason if grant.end else "")
        return RevokeOutcome(grant_id=grant_id, status=grant.status, ended=False,
                             message=f"already ended ({grant.end.reason if grant.end else ''})")
    if not early and not grant.is_due():
        logger.info("grant %s is not due: it now expires %s", grant_id, grant.expires_at)
        return RevokeOutcome(grant_id=grant_id, status=grant.status, ended=False,
                             message=f"not due; expires {grant.expires_at.isoformat()}")
    reason = f"revoked early by {by or 'an admin'}" if early else "expired"
    return await _end(grant, await load_policy(policy), by=by or "revoke-temporary-access",
                      reason=reason)


@flow(name=SWEEPER, persist_result=True)
async def revoke_expired_access(policy: str = "default") -> list[RevokeOutcome]:
    """End every grant past its expiry whose access may still be present.

    The backstop for lost or failed scheduled revokes: run every few minutes. A grant whose
    end was claimed but not finished (a revoke cut off half-way) is finished here.

    Args:
        policy: Name of the saved runbook policy block (account, Slack).
    """
    now = clock.now()
    async with get_client() as client:
        due = [g for g in await list_grants(client) if g.is_due(now)]
    get_run_logger().info("%d grant(s) past expiry", len(due))
    if not due:
        return []
    runbook_policy = await load_policy(policy)
    outcomes = []
    for grant in due:
        outcomes.append(await _end(grant, runbook_policy, by=SWEEPER, reason="expired"))
    return outcomes


async def _end(grant: AccessGrant, policy: RunbookPolicy, *, by: str, reason: str) -> RevokeOutcome:
    context = StepContext(credentials=policy.credentials, key_store=policy.key_store)
    grant, end, plan = await end_grant(grant.id, context, by=by, reason=reason)
    message = f"Your temporary {grant.role} on {grant.resource} ended ({end.reason}): {end.outcome}"
    get_run_logger().info("grant %s: %s", grant.id, message)
    if plan.changes or plan.in_place:
        await notify_requester(policy, grant.requester_slack_id, message)
    return RevokeOutcome(grant_id=grant.id, status=grant.status, ended=True, message=message)
