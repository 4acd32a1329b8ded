"""Prefect tasks that post and update the Slack approval message of a runbook's gate.

Each task takes the :class:`~blocks.slack.SlackApprovals` block (blocks serialize, clients do
not), opens slack-sdk's ``AsyncWebClient`` from it (rate-limit and connection retries attached)
and logs one line naming the run and gate. Message bodies come from
:mod:`tasks.approvals.slack_blocks`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiohttp
from prefect import get_run_logger, task
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_UI_URL
from prefect.tasks import exponential_backoff
from slack_sdk.errors import SlackApiError

from blocks.slack import SlackApprovals
from core.approvals.requests import ApprovalDecision, ApprovalRequest, request_key
from tasks.approvals.slack_blocks import decided_message, expired_message, redact, request_message
from tasks.approvals.store import claim_expiry, read_request, store_request
from tasks.retry import retry_when


class ApprovalRequestConflict(ValueError):
    """The gate already asked about a different plan; a new plan needs a new gate key."""


def is_transient_slack_error(exc: BaseException | None) -> bool:
    """Whether a Slack call may succeed if tried again: 429, 5xx, connection errors, timeouts.

    Args:
        exc: What the call raised.

    Returns:
        ``True`` for transient failures.
    """
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        return status == 429 or status >= 500
    return isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | ConnectionError)


_retry_if_transient = retry_when(is_transient_slack_error)

# The retries of the follow-up tasks (thread replies, alerts, message updates): a reply posted
# twice is a nuisance, one lost is worse. The request message itself is never retried.
_RETRY_TRANSIENT: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": _retry_if_transient,
}


def _request_cache_key(context: Any, parameters: dict[str, Any]) -> str:
    request: ApprovalRequest = parameters["request"]
    # The plan hash is in the key so that a new plan on the same gate is not answered from
    # the cache with the old request: the task runs and refuses it instead.
    return f"slack-approval-request-{request.run_id}-{request.gate}-{request.plan_hash}"


def flow_run_url(run_id: str) -> str | None:
    """The Prefect UI page of a flow run, when a UI URL is configured.

    Args:
        run_id: The flow run id.

    Returns:
        The URL, or ``None``.
    """
    ui = PREFECT_UI_URL.value()
    return f"{ui.rstrip('/')}/runs/flow-run/{run_id}" if ui else None


async def _post(slack: SlackApprovals, request: ApprovalRequest) -> ApprovalRequest:
    message = request_message(request)
    client = slack.get_client()
    response = await client.chat_postMessage(
        channel=request.channel or slack.channel,
        text=message.text,
        blocks=message.blocks,
        unfurl_links=False,
        unfurl_media=False,
    )
    return request.model_copy(update={"channel": response["channel"], "message_ts": response["ts"]})


@task(
    name="Post approval request",
    description="Post the gate's Block Kit approval message to Slack, once per run and gate.",
    cache_key_fn=_request_cache_key,
    persist_result=True,
)
async def post_approval_request(slack: SlackApprovals, request: ApprovalRequest) -> ApprovalRequest:
    """Post the approval message for ``request`` and store the request on its flow run.

    Exactly once per ``(run_id, gate)``: the task result is cached on that pair, and before
    posting the task looks for a request already stored on the run with a ``message_ts`` (a
    retried or re-executed flow finds it and posts nothing). Not retried by Prefect:
    ``chat.postMessage`` is not idempotent; slack-sdk retries 429s after ``Retry-After``.

    Args:
        slack: The Slack app and approver policy.
        request: What is asked; ``run_id`` and ``gate`` say where it is stored.

    Returns:
        The request with ``channel`` and ``message_ts`` of the posted message.

    Raises:
        ApprovalRequestConflict: The gate already holds a request for another plan hash.

    Examples:
        ```python
        @flow
        async def offboard(...):
            request = ApprovalRequest(run_id=str(flow_run.id), gate="offboard-lee", ...,
                                      policy=runbook_policy.approval)
            request = await post_approval_request(slack, request)
            answer = await pause_flow_run(
                wait_for_input=ApprovalAnswer.with_initial_data(description=...),
                key=request.gate, timeout=request.timeout_seconds)
        ```
    """
    logger = get_run_logger()
    async with get_client() as prefect:
        stored = await read_request(prefect, request.run_id, request.gate)
        if stored is not None and stored.plan_hash != request.plan_hash:
            raise ApprovalRequestConflict(
                f"gate {request.gate!r} of run {request.run_id} already asked about plan "
                f"{stored.plan_hash[:12]}, not {request.plan_hash[:12]}"
            )
        if stored is not None and stored.message_ts:
            logger.info(
                "Approval request %s already posted (ts %s)", request.gate, stored.message_ts
            )
            return stored
        request = request.model_copy(
            update={
                "channel": request.channel or slack.channel,
                "flow_run_url": request.flow_run_url or flow_run_url(request.run_id),
            }
        )
        posted = await _post(slack, request)
        if stored is not None:
            # A bare request stored without its message: replace it with one that knows it.
            await prefect.delete_flow_run_input(
                flow_run_id=stored.run_id, key=request_key(stored.gate)
            )
        if not await store_request(prefect, posted):
            # Another execution stored first; its message is the one the handler answers.
            winner = await read_request(prefect, request.run_id, request.gate)
            if winner is not None:
                return winner
    logger.info(
        "Posted approval request %s for run %s to %s (ts %s)",
        posted.gate,
        posted.run_id,
        posted.channel,
        posted.message_ts,
    )
    return posted


async def _stored_or_given(request: ApprovalRequest) -> ApprovalRequest:
    if request.message_ts and request.channel:
        return request
    async with get_client() as prefect:
        stored = await read_request(prefect, request.run_id, request.gate)
    return stored or request


@task(
    name="Post run result",
    description="Reply in the approval message's thread with how the run ended.",
    **_RETRY_TRANSIENT,
)
async def post_run_result(
    slack: SlackApprovals, request: ApprovalRequest, text: str, *, broadcast: bool = False
) -> None:
    """Reply in the thread of the approval message with the run's result.

    ``broadcast`` also shows the reply in the channel (Slack's "also send to channel"): for
    what everybody must see, such as a break-glass approval or a refused bypass.

    Args:
        slack: The Slack app.
        request: The posted request (with ``channel`` and ``message_ts``; else the stored one
            is used).
        text: The result, mrkdwn; anything shaped like a Slack token is redacted.
        broadcast: Also show it in the channel.

    Examples:
        ```python
        await post_run_result(slack, request, "Completed: 2 keys revoked, 1 user deleted.")
        ```
    """
    logger = get_run_logger()
    request = await _stored_or_given(request)
    if not request.message_ts or not request.channel:
        logger.warning("No approval message for gate %s; result not posted", request.gate)
        return
    client = slack.get_client()
    await client.chat_postMessage(
        channel=request.channel,
        thread_ts=request.message_ts,
        text=redact(text),
        unfurl_links=False,
        reply_broadcast=broadcast,
    )
    logger.info("Posted the result of run %s in thread %s", request.run_id, request.message_ts)


@task(
    name="Post alert",
    description="Post an alert to the approval channel (not in a thread).",
    **_RETRY_TRANSIENT,
)
async def post_alert(slack: SlackApprovals, text: str) -> None:
    """Post ``text`` to the approval channel, for what approvers must notice at once.

    Args:
        slack: The Slack app.
        text: The alert, mrkdwn; anything shaped like a Slack token is redacted.
    """
    client = slack.get_client()
    await client.chat_postMessage(channel=slack.channel, text=redact(text), unfurl_links=False)
    get_run_logger().info("Posted an alert to %s", slack.channel)


@task(
    name="Mark approval expired",
    description="Update the approval message: it timed out, which means rejected.",
    **_RETRY_TRANSIENT,
)
async def mark_expired(slack: SlackApprovals, request: ApprovalRequest) -> None:
    """Replace the buttons with "expired — treated as rejected; nothing was changed".

    Args:
        slack: The Slack app.
        request: The posted request.

    Examples:
        ```python
        try:
            decision = await pause_flow_run(..., key=request.gate, timeout=...)
        except FlowPauseTimeout:
            await mark_expired(slack, request)
            raise
        ```
    """
    logger = get_run_logger()
    request = await _stored_or_given(request)
    if not request.message_ts or not request.channel:
        logger.warning("No approval message for gate %s; nothing to mark expired", request.gate)
        return
    message = expired_message(request, at=datetime.now(UTC))
    client = slack.get_client()
    await client.chat_update(
        channel=request.channel, ts=request.message_ts, text=message.text, blocks=message.blocks
    )
    async with get_client() as prefect:
        # Recorded after the update, so the webhook service's sweeper skips this gate.
        await claim_expiry(prefect, request.run_id, request.gate)
    logger.info("Marked approval request %s of run %s expired", request.gate, request.run_id)


@task(
    name="Mark approval decided",
    description="Update the approval message with a decision made outside Slack.",
    **_RETRY_TRANSIENT,
)
async def mark_decided(
    slack: SlackApprovals, request: ApprovalRequest, decision: ApprovalDecision
) -> None:
    """Show a decision taken in the Prefect UI or CLI on the Slack message (buttons removed).

    Slack clicks update the message themselves; call this when the gate was answered elsewhere.

    Args:
        slack: The Slack app.
        request: The posted request.
        decision: The answer the gate received.
    """
    logger = get_run_logger()
    request = await _stored_or_given(request)
    if not request.message_ts or not request.channel:
        logger.warning("No approval message for gate %s; decision not shown", request.gate)
        return
    message = decided_message(
        request,
        approved=decision.approved,
        decided_by=decision.approver,
        approvers=decision.approvers,
        at=datetime.now(UTC),
    )
    client = slack.get_client()
    await client.chat_update(
        channel=request.channel, ts=request.message_ts, text=message.text, blocks=message.blocks
    )
    logger.info(
        "Showed the decision on approval request %s of run %s", request.gate, request.run_id
    )
