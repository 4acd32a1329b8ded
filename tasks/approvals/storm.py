"""The leaver-storm circuit breaker: too many webhook-started deletions put the rest on hold.

A leaked HR webhook secret, or a bulk-termination mistake upstream, would otherwise offboard
people as fast as events arrive, each behind an approval that tired approvers click through.
Past ``storm_runs_per_hour`` destructive webhook runs, or for one plan that deletes or revokes
more than the policy allows, the gate is held: only a named break-glass approver can release
it, and the channel is told.

The hourly count is a Prefect global concurrency limit with slot decay (a leaky bucket shared by
every worker); each run takes its slot once, recorded on the run, so a re-executed run does not
count twice.
"""

from __future__ import annotations

import contextlib

import httpx
from prefect import get_client, get_run_logger
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.exceptions import ObjectAlreadyExists
from prefect.runtime import flow_run

from blocks.policy import RunbookPolicy
from core.approvals.metrics import STORM_HOLDS
from core.planning.plan import Action, Plan
from tasks.approvals.slack_messages import post_alert
from tasks.approvals.store import read_note, write_note
from tasks.triggers import Trigger


def size_hold(plan: Plan, policy: RunbookPolicy) -> str | None:
    """Why one plan alone is too large to approve normally, or ``None``."""
    rules = policy.approval
    deletions = sum(c.action is Action.DELETE_USER for c in plan.changes)
    revocations = sum(c.action is Action.REVOKE_KEY for c in plan.changes)
    if deletions > rules.storm_max_user_deletions:
        return (
            f"the plan deletes {deletions} users "
            f"(policy allows {rules.storm_max_user_deletions})"
        )
    if revocations > rules.storm_max_key_revocations:
        return (
            f"the plan revokes {revocations} keys "
            f"(policy allows {rules.storm_max_key_revocations})"
        )
    return None


async def _take_slot(policy: RunbookPolicy) -> bool:
    """Take one slot of the hourly limit (creating it on first use); False if none is free.

    One request, answered at once: the server says 423 when no slot is free. Waiting would not
    help (a slot frees up every ``3600 / storm_runs_per_hour`` seconds), and a timed wait would
    misread a slow API as a storm.
    """
    rules = policy.approval
    async with get_client() as client:
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(
                    name=rules.storm_limit,
                    limit=rules.storm_runs_per_hour,
                    slot_decay_per_second=rules.storm_runs_per_hour / 3600,
                )
            )
        try:
            await client.increment_concurrency_slots([rules.storm_limit], 1, "rate_limit")
        except httpx.HTTPStatusError as ex:
            if ex.response.status_code == 423:  # Locked: no slot free
                return False
            raise
    return True


async def storm_hold(plan: Plan, policy: RunbookPolicy, trigger: Trigger) -> str | None:
    """Whether this run's gate must be held for break-glass approval, and why.

    Called once per gate; the answer is stored on the run, so a re-executed run (a resumed
    suspension, a crash recovery) gets the same answer without taking another slot.
    """
    run_id = str(flow_run.id)
    note = f"storm-{plan.hash[:16]}"
    async with get_client() as client:
        previous = await read_note(client, run_id, note)
    if previous is not None:
        return previous or None
    reason = size_hold(plan, policy)
    if reason is None and trigger.from_webhook and not await _take_slot(policy):
        rules = policy.approval
        reason = (
            f"more than {rules.storm_runs_per_hour} destructive runs started by webhooks within "
            "the hour (leaver storm)"
        )
    async with get_client() as client:
        first = await write_note(client, run_id, note, reason or "")
    if reason and first:
        STORM_HOLDS.labels(runbook=plan.runbook).inc()
        get_run_logger().warning("HELD for break-glass approval: %s", reason)
        if policy.slack is not None:
            await post_alert(
                policy.slack,
                f":rotating_light: *Leaver-storm circuit breaker*: {plan.runbook} for "
                f"{plan.subject} is held for break-glass approval: {reason}.",
            )
    return reason
