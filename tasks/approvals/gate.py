"""The approval gate: ask, wait, and answer with a typed decision; timeout means rejected.

Deployment runs suspend (nothing is held while people take hours); local runs and tests pause.
The gate key is derived from the plan hash, so a suspended run that re-executes from the top
meets the same gate only if it recomputed the same plan. The request is stored on the flow run
(and, with Slack, posted once), so the Prefect UI, ``arize-runbooks approve`` and Slack clicks
all answer the same gate.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect import get_client, get_run_logger
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import apause_flow_run, asuspend_flow_run
from prefect.runtime import deployment, flow_run

from blocks.policy import RunbookPolicy
from tasks.approvals.models import ApprovalDecision, ApprovalRequest
from tasks.approvals.slack_messages import mark_expired, post_approval_request, post_run_result
from tasks.approvals.store import read_request, store_request
from tasks.planning.plan import Plan
from tasks.triggers import Trigger


class ApprovalTimeout(RuntimeError):
    """Nobody answered before the gate's timeout: treated as rejected, nothing was applied."""


def gate_key(plan: Plan) -> str:
    """The pause key of the gate that approves ``plan``: lowercase, digits and dashes only."""
    return f"approve-{plan.hash[:16]}"


async def require_approval(
    plan: Plan, policy: RunbookPolicy, trigger: Trigger, *, protected: list[str] | None = None
) -> ApprovalDecision:
    """Ask for approval of ``plan``'s destructive changes and wait for the answer.

    Args:
        plan: The plan to approve; only called when it has destructive changes.
        policy: Timeout, and Slack approvals if configured.
        trigger: Who or what started the run; the requester may not approve.
        protected: Further people who may not approve (the user being offboarded).

    Returns:
        The decision; ``approved`` is False for a rejection.

    Raises:
        ApprovalTimeout: if no decision arrived in time.
    """
    logger = get_run_logger()
    timeout = _timeout(policy)
    request = _build_request(plan, policy, trigger, protected or [], timeout)
    if policy.approvals is not None:
        request = await post_approval_request(policy.approvals, request)
    else:
        async with get_client() as client:
            await store_request(client, request)
    logger.info(
        "waiting up to %ss for approval of plan %s (gate %s): "
        "arize-runbooks approve %s, the Prefect UI, or Slack",
        timeout,
        plan.hash[:12],
        request.gate,
        request.run_id,
    )
    form = ApprovalDecision.with_initial_data(
        description=plan.render_markdown(), approved=False, approver=""
    )
    try:
        if deployment.id:
            decision = await asuspend_flow_run(
                wait_for_input=form, key=request.gate, timeout=timeout
            )
        else:
            decision = await apause_flow_run(
                wait_for_input=form,
                key=request.gate,
                timeout=timeout,
                poll_interval=policy.poll_interval_seconds,
            )
    except FlowPauseTimeout as ex:
        if policy.approvals is not None:
            await mark_expired(policy.approvals, request)
        raise ApprovalTimeout(
            f"no decision on plan {plan.hash[:12]} within {timeout}s; "
            "treated as rejected, nothing was applied"
        ) from ex
    logger.info(
        "plan %s %s by %s", plan.hash[:12], "approved" if decision.approved else "rejected",
        decision.approver,
    )
    return decision


async def announce_result(plan: Plan, policy: RunbookPolicy, text: str) -> None:
    """Reply in the approval message's Slack thread with how the run ended.

    Only runs whose plan went through a Slack gate have a thread; others return at once.
    """
    if policy.approvals is None or not plan.destructive:
        return
    async with get_client() as client:
        request = await read_request(client, str(flow_run.id), gate_key(plan))
    if request is not None and request.message_ts:
        await post_run_result(policy.approvals, request, text)


def _timeout(policy: RunbookPolicy) -> int:
    """Slack approvals carry their own timeout; without Slack the policy's applies."""
    if policy.approvals is not None:
        return policy.approvals.timeout_seconds
    return policy.approval_timeout_seconds


def _build_request(
    plan: Plan, policy: RunbookPolicy, trigger: Trigger, protected: list[str], timeout: int
) -> ApprovalRequest:
    slack = policy.approvals.policy_fields() if policy.approvals is not None else {}
    slack["timeout_seconds"] = timeout
    return ApprovalRequest(
        run_id=str(flow_run.id),
        gate=gate_key(plan),
        runbook=plan.runbook,
        subject=plan.subject,
        trigger=trigger.describe(),
        requested_by=trigger.requested_by,
        protected=[p for p in protected if p],
        plan_hash=plan.hash,
        destructive=[change.describe() for change in plan.destructive],
        counts=plan.counts(),
        expires_at=datetime.now(UTC) + timedelta(seconds=timeout),
        flow_run_url=flow_run.ui_url,
        **slack,
    )
