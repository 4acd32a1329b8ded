"""A gate's Slack message when its run crashes: buttons off, and a line that says why.

A run that crashes while it waits for approval (its process terminated, or Prefect cancelled
it when a concurrency lease was lost) must not leave live Approve buttons behind: a click
would be refused as "not waiting". :func:`disable_buttons_on_crash` arms a crash hook on the
running flow; Prefect calls it in the flow-run process when the run ends ``Crashed``. A run
whose process is SIGKILLed runs no hook: crash recovery reschedules it, and when the same run
waits again under the same request :func:`reopen_request` puts the buttons back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from prefect.context import FlowRunContext

from blocks.slack import SlackApprovals
from core.approvals.requests import ApprovalRequest
from tasks.approvals.slack_blocks import SlackMessage, request_message, slack_date

logger = logging.getLogger(__name__)

CRASHED_LINE = (
    ":boom: *The run crashed* while waiting for this approval; these buttons no longer do "
    "anything and nothing was changed after the crash. If it is rescheduled, it asks here again."
)


def crashed_message(request: ApprovalRequest, *, at: datetime) -> SlackMessage:
    """The request without its buttons, with the crash line."""
    message = request_message(request)
    blocks = [b for b in message.blocks if b.get("type") != "actions"]
    line = f"{CRASHED_LINE} — {slack_date(at)}"
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line}})
    return SlackMessage(text=f"Run crashed: {request.runbook} {request.subject}", blocks=blocks)


async def mark_crashed(slack: SlackApprovals, request: ApprovalRequest) -> None:
    """Replace the request's buttons with the crash line (no-op without a posted message)."""
    if not request.message_ts or not request.channel:
        return
    message = crashed_message(request, at=datetime.now(UTC))
    await slack.get_client().chat_update(
        channel=request.channel, ts=request.message_ts, text=message.text, blocks=message.blocks
    )
    logger.info("Marked approval request %s of run %s crashed", request.gate, request.run_id)


async def reopen_request(slack: SlackApprovals, request: ApprovalRequest) -> None:
    """Show the open request with its buttons again (the run waits again after a crash)."""
    if not request.message_ts or not request.channel:
        return
    message = request_message(request)
    await slack.get_client().chat_update(
        channel=request.channel, ts=request.message_ts, text=message.text, blocks=message.blocks
    )


def disable_buttons_on_crash(slack: SlackApprovals, request: ApprovalRequest) -> None:
    """Arm a crash hook on the running flow that marks ``request`` crashed (once per gate)."""
    context = FlowRunContext.get()
    if context is None or context.flow is None or not request.message_ts:
        return
    hooks = context.flow.on_crashed_hooks
    if any(getattr(h, "arize_gate", None) == request.gate for h in hooks):
        return

    async def hook(flow: Any, flow_run: Any, state: Any) -> None:
        try:
            await mark_crashed(slack, request)
        except Exception as exc:  # a crash hook must not hide the crash
            logger.warning("Could not mark gate %s crashed in Slack: %s", request.gate,
                           type(exc).__name__)

    hook.arize_gate = request.gate  # type: ignore[attr-defined]
    hooks.append(hook)
