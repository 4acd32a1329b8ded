"""A click that lands while the run is between two waits of its gate still resumes it.

The flow here does what a deployment run's gate does when its hold ends (``_hold_then_suspend``)
with the moment between the waits stretched: its first pause stops waiting, it goes back to
Running with the gate's hold-expired message, and only later waits again under a new key (a
pause: a suspension needs a deployment, and the click handler treats both alike). The click
lands in between, through the real signed path of the webhook service.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.flow_runs import apause_flow_run
from prefect.runtime import flow_run
from prefect.states import Running, State

from blocks.slack import SlackApprovals
from emulator.slack import SlackEmulatorServer
from emulator.slack.interactions import build_click
from tasks.approvals.gate import HOLD_EXPIRED_MESSAGE
from tasks.approvals.models import ApprovalAnswer, ApprovalRequest
from tasks.approvals.slack_messages import post_approval_request
from tests.approvals.conftest import ALICE, APPROVERS, request_fields, send
from tests.fixtures.slack import SLACK_SIGNING_SECRET

pytestmark = pytest.mark.slow

#: How long the flow stays Running between its two waits: longer than a click takes to land.
BETWEEN_WAITS_SECONDS = 1.5

#: Run id by gate (flow parameters are copies, so the flow cannot hand it back through one).
STARTED: dict[str, str] = {}


@flow(name="hold-expiry-race-test")
async def hold_then_wait_again(
    slack: SlackApprovals, gate: str, fields: dict[str, Any]
) -> dict[str, Any]:
    run_id = str(flow_run.get_id())
    STARTED[gate] = run_id
    request = await post_approval_request(
        slack,
        ApprovalRequest(
            run_id=run_id,
            gate=gate,
            expires_at=datetime.now(UTC) + timedelta(seconds=60),
            timeout_seconds=60,
            channel=slack.channel,
            policy=APPROVERS,
            **fields,
        ),
    )
    form = ApprovalAnswer.with_initial_data(description=request.subject)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1):
            await apause_flow_run(wait_for_input=form, key=gate, timeout=60, poll_interval=1)
    async with get_client() as client:
        await client.set_flow_run_state(uuid.UUID(run_id), Running(message=HOLD_EXPIRED_MESSAGE))
    await asyncio.sleep(BETWEEN_WAITS_SECONDS)
    answer = await apause_flow_run(
        wait_for_input=form, key=f"{gate}-r1", timeout=30, poll_interval=1
    )
    return answer.model_dump()


async def test_a_click_between_the_hold_and_the_suspension_resumes_the_run(
    slack_block: SlackApprovals,
    slack_emulator: SlackEmulatorServer,
    service: Callable[[], Any],
) -> None:
    gate = f"offboard-{uuid.uuid4().hex[:8]}"
    outcome: list[State[Any] | BaseException] = []

    def target() -> None:
        try:
            outcome.append(
                asyncio.run(
                    hold_then_wait_again(
                        slack_block, gate, request_fields(), return_state=True
                    )
                )
            )
        except BaseException as ex:  # surfaced below
            outcome.append(ex)

    thread = threading.Thread(target=target, daemon=True, name=f"flow-{gate}")
    thread.start()
    async with asyncio.timeout(60), get_client() as prefect:
        while True:
            if gate in STARTED:
                run = await prefect.read_flow_run(uuid.UUID(STARTED[gate]))
                if run.state is not None and run.state.message == HOLD_EXPIRED_MESSAGE:
                    break
            assert not outcome, outcome
            await asyncio.sleep(0.05)
    message = next(
        m for m in slack_emulator.messages()["messages"] if gate in str(m.get("blocks"))
    )
    click = build_click(
        slack_emulator.state,
        signing_secret=SLACK_SIGNING_SECRET,
        user_id=ALICE,
        channel=message["channel"],
        ts=message["ts"],
    )
    async with service() as client:
        assert (await send(client, click)).status_code == 200

    await asyncio.to_thread(thread.join, 60)
    assert outcome, "the flow did not finish"
    final = outcome[0]
    assert isinstance(final, State), final
    assert final.is_completed(), final
    assert (await final.aresult())["approved"] is True
    assert slack_emulator.messages()["ephemerals"] == []
