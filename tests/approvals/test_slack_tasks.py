"""The Slack poster tasks under a real Prefect: once per run and gate, stored on the run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from blocks.slack import SlackApprovals
from core.approvals.requests import ApprovalDecision, ApprovalRequest
from emulator.slack import SlackEmulatorServer
from tasks.approvals.slack_messages import (
    ApprovalRequestConflict,
    mark_decided,
    post_approval_request,
    post_run_result,
)
from tasks.approvals.store import read_request
from tests.approvals.conftest import ALICE, APPROVERS, request_fields

pytestmark = pytest.mark.slow


def _request(slack: SlackApprovals, gate: str, **overrides: Any) -> ApprovalRequest:
    return ApprovalRequest(
        run_id=str(flow_run.get_id()),
        gate=gate,
        expires_at=datetime.now(UTC) + timedelta(seconds=60),
        timeout_seconds=60,
        channel=slack.channel,
        policy=APPROVERS,
        **request_fields(**overrides),
    )


@flow
async def post_three_times(slack: SlackApprovals, gate: str) -> list[ApprovalRequest]:
    request = _request(slack, gate)
    first = await post_approval_request(slack, request)
    cached = await post_approval_request(slack, request)
    # A re-executed flow whose task cache is gone still finds the stored request.
    stored = await post_approval_request.with_options(refresh_cache=True)(slack, request)
    return [first, cached, stored]


async def test_posts_once_and_stores_the_request(
    slack_block: SlackApprovals, slack_emulator: SlackEmulatorServer, prefect_harness: str
) -> None:
    gate = f"gate-{uuid.uuid4().hex[:8]}"
    slack_emulator.state.set_rate_limit(1, 0)  # the first post meets a 429
    first, cached, stored = await post_three_times(slack_block, gate)
    assert first.message_ts and first.channel
    assert first == cached == stored
    (message,) = slack_emulator.messages()["messages"]
    assert message["ts"] == first.message_ts
    assert slack_emulator.state.calls["chat.postMessage"] == 2  # the 429, then the post
    async with get_client() as client:
        assert await read_request(client, first.run_id, gate) == first


@flow
async def change_the_plan(slack: SlackApprovals, gate: str) -> None:
    await post_approval_request(slack, _request(slack, gate))
    await post_approval_request(slack, _request(slack, gate))  # new plan hash, same gate


async def test_another_plan_on_the_same_gate_is_refused(
    slack_block: SlackApprovals, slack_emulator: SlackEmulatorServer, prefect_harness: str
) -> None:
    with pytest.raises(ApprovalRequestConflict):
        await change_the_plan(slack_block, f"gate-{uuid.uuid4().hex[:8]}")
    assert len(slack_emulator.messages()["messages"]) == 1


@flow
async def decided_elsewhere(slack: SlackApprovals, gate: str) -> None:
    request = await post_approval_request(slack, _request(slack, gate))
    decision = ApprovalDecision(approved=True, approver=ALICE, approvers=[ALICE])
    # The flow's own copy before posting has no ts: the tasks fall back to the stored one.
    bare = request.model_copy(update={"message_ts": None, "channel": None})
    await mark_decided(slack, bare, decision)
    await post_run_result(slack, bare, "Done: 1 user deleted.")


async def test_decision_from_elsewhere_and_result_in_thread(
    slack_block: SlackApprovals, slack_emulator: SlackEmulatorServer, prefect_harness: str
) -> None:
    await decided_elsewhere(slack_block, f"gate-{uuid.uuid4().hex[:8]}")
    message, reply = slack_emulator.messages()["messages"]
    assert "Approved* by <@U0ALICE>" in str(message["blocks"])
    assert not [b for b in message["blocks"] if b["type"] == "actions"]
    assert reply["thread_ts"] == message["ts"]
    assert reply["text"] == "Done: 1 user deleted."
