"""A real runbook behind the Slack gate: restrict-project, answered by signed clicks.

The flow posts its request through the Slack emulator, pauses, and is resumed by the webhook
service's click handler; the Arize emulator shows whether anything was applied.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from arize_admin import AsyncArizeAdmin
from blocks.arize import ArizeCredentials
from blocks.key_store import ArizeKeyStore
from blocks.policy import RunbookPolicy
from emulator.slack.interactions import build_click
from flows.restrict_project.flow import restrict_project
from tasks.approvals.gate import ApprovalTimeout
from tasks.reporting.report import RunStatus
from tests.approvals.conftest import ALICE, APPROVERS, send
from tests.fixtures.runbooks import mutation_count, wait_for_paused_run
from tests.fixtures.slack import SLACK_SIGNING_SECRET

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).parents[2] / "examples" / "restrict-project.yaml"


@pytest.fixture
async def slack_policy(arize, prefect_harness, slack_block) -> RunbookPolicy:
    policy = RunbookPolicy(
        credentials=ArizeCredentials(api_key=arize.admin_key, base_url=arize.base_url),
        slack=slack_block,
        approval=APPROVERS,
        key_store=ArizeKeyStore(prefix="slack-test"),
        poll_interval_seconds=1,
        rate_limit=None,
    )
    await policy.asave("default", overwrite=True)
    return policy


async def restricted(arize) -> bool:
    async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
        return bool([r async for r in client.resource_restrictions.list()])


async def click_when_paused(service, slack_emulator, action_id: str, since: datetime) -> None:
    await wait_for_paused_run("restrict-project", since)
    click = build_click(
        slack_emulator.state,
        signing_secret=SLACK_SIGNING_SECRET,
        user_id=ALICE,
        action_id=action_id,
    )
    async with service() as client:
        response = await send(client, click)
    assert response.status_code == 200


@pytest.mark.parametrize(("action_id", "approved"), [("approve", True), ("reject", False)])
async def test_a_slack_click_decides_the_runbook(
    arize, slack_policy, service, slack_emulator, action_id, approved
):
    spec = yaml.safe_load(EXAMPLE.read_text())
    before = mutation_count(arize)
    clicker = asyncio.create_task(
        click_when_paused(service, slack_emulator, action_id, datetime.now(UTC))
    )

    outcome = await restrict_project(spec=spec)
    await clicker

    assert outcome.status is (RunStatus.COMPLETED if approved else RunStatus.REJECTED)
    assert await restricted(arize) is approved
    if approved:
        assert outcome.approver == "alice@acme.example"
        assert mutation_count(arize) - before == outcome.applied
    else:
        assert mutation_count(arize) == before
    messages = slack_emulator.messages()["messages"]
    gate_messages = [m for m in messages if not m.get("thread_ts")]
    assert len(gate_messages) == 1, "one approval message per gate"
    decided = str(gate_messages[0]["blocks"])
    assert ALICE in decided
    assert "actions" not in [b["type"] for b in gate_messages[0]["blocks"]]
    replies = [m for m in messages if m.get("thread_ts") == gate_messages[0]["ts"]]
    assert replies, "the run's result is posted in the thread"
    assert arize.admin_key not in str(messages)


async def test_an_unanswered_slack_gate_expires_as_rejected(arize, slack_policy, slack_emulator):
    slack_policy.approval.timeout_seconds = 10
    await slack_policy.asave("default", overwrite=True)
    before = mutation_count(arize)

    with pytest.raises(ApprovalTimeout, match="treated as rejected"):
        await restrict_project(spec=yaml.safe_load(EXAMPLE.read_text()))

    assert mutation_count(arize) == before
    assert not await restricted(arize)
    messages = slack_emulator.messages()["messages"]
    (message,) = [m for m in messages if not m.get("thread_ts")]
    assert "expired" in str(message).lower()
    replies = [m for m in messages if m.get("thread_ts") == message["ts"]]
    assert any("Expired" in m["text"] for m in replies), "the expiry is told in the thread"
