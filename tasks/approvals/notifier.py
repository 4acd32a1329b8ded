"""The gate's ``Notifier`` port on Slack: the request's message, its buttons and its thread.

Everything the gate says to people goes through here, so the gate itself never calls Slack.
"""

from __future__ import annotations

from dataclasses import dataclass

from blocks.policy import RunbookPolicy
from blocks.slack import SlackApprovals
from core.approvals.ports import Notifier, Silent
from core.approvals.requests import ApprovalDecision, ApprovalRequest
from tasks.approvals.slack_crash import disable_buttons_on_crash, reopen_request
from tasks.approvals.slack_messages import (
    mark_decided,
    mark_expired,
    post_approval_request,
    post_run_result,
)


@dataclass(frozen=True)
class SlackNotifier:
    """Tells the approvers' channel, through the Slack app of the policy."""

    slack: SlackApprovals

    async def ask(self, request: ApprovalRequest) -> ApprovalRequest:
        return await post_approval_request(self.slack, request)

    async def follow_crashes(self, request: ApprovalRequest, *, crashed_before: bool) -> None:
        if not request.message_ts:
            return
        if crashed_before:
            await reopen_request(self.slack, request)
        disable_buttons_on_crash(self.slack, request)

    async def decided(self, request: ApprovalRequest, decision: ApprovalDecision) -> None:
        await mark_decided(self.slack, request, decision)

    async def announce(self, request: ApprovalRequest, text: str, *, broadcast: bool) -> None:
        await post_run_result(self.slack, request, text, broadcast=broadcast)

    async def expired(self, request: ApprovalRequest) -> None:
        await mark_expired(self.slack, request)


def notifier_for(policy: RunbookPolicy) -> Notifier:
    """Slack when the policy has a Slack app, else nobody."""
    return SlackNotifier(policy.slack) if policy.slack is not None else Silent()
