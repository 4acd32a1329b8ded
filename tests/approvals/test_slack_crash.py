"""A run that crashes while its Slack request waits: a real Prefect crash runs the hook the
gate armed, and the message loses its buttons and says the run crashed; reopened, the
buttons come back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prefect import flow
from prefect.runtime import flow_run

from blocks.slack import SlackApprovals
from core.approvals.requests import ApprovalRequest
from emulator.slack import SlackEmulatorServer
from tasks.approvals.slack_crash import CRASHED_LINE, disable_buttons_on_crash, reopen_request
from tasks.approvals.slack_messages import post_approval_request
from tests.approvals.conftest import APPROVERS, request_fields

pytestmark = pytest.mark.slow


class ProcessGone(BaseException):
    """Stands for the interrupt of a flow-run process being stopped."""


@flow
async def asks_then_crashes(slack: SlackApprovals, gate: str) -> None:
    request = await post_approval_request(
        slack,
        ApprovalRequest(
            run_id=str(flow_run.get_id()),
            gate=gate,
            expires_at=datetime.now(UTC) + timedelta(seconds=60),
            timeout_seconds=60,
            channel=slack.channel,
            policy=APPROVERS,
            **request_fields(),
        ),
    )
    disable_buttons_on_crash(slack, request)
    disable_buttons_on_crash(slack, request)  # armed once per gate however often called
    raise ProcessGone  # a BaseException: Prefect ends the run Crashed and runs crash hooks


def _actions(message: dict) -> list[dict]:
    return [b for b in message.get("blocks", []) if b.get("type") == "actions"]


async def test_a_crash_disables_the_buttons_and_says_so(
    slack_block: SlackApprovals, slack_emulator: SlackEmulatorServer, prefect_harness: str
) -> None:
    gate = f"gate-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ProcessGone):
        await asks_then_crashes(slack_block, gate)

    (message,) = slack_emulator.messages()["messages"]
    assert _actions(message) == []
    assert CRASHED_LINE.split(";")[0] in str(message["blocks"])
    assert slack_emulator.state.calls["chat.update"] == 1

    request = ApprovalRequest(
        run_id=str(uuid.uuid4()), gate=gate, expires_at=datetime.now(UTC) + timedelta(seconds=60),
        timeout_seconds=60, channel=message["channel"], message_ts=message["ts"],
        policy=APPROVERS, **request_fields(),
    )
    await reopen_request(slack_block, request)
    (message,) = slack_emulator.messages()["messages"]
    assert _actions(message)
