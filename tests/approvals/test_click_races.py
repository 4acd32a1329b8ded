"""A vote that lands while the run is not quite waiting yet still resumes it.

Two windows, each stretched here so the vote surely lands in it, cast both ways: a click
through the real signed path of the webhook service, and the CLI's ``approve``:

- between two waits: what a deployment run's gate does when its hold ends
  (``_hold_then_suspend``): its first pause stops waiting, it goes back to Running with the
  gate's hold-expired message, and only later waits again under a new key (a pause here: a
  suspension needs a deployment, and the click handler treats both alike);
- paused, answer form not saved yet: Prefect sets Paused (or Suspended) first and saves the
  form after; it refuses a resume in between ("Run input schema not found.").
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
from prefect.input.run_input import keyset_from_paused_state
from prefect.runtime import flow_run
from prefect.states import Paused, Running, State

from blocks.policy import RunbookPolicy
from blocks.slack import SlackApprovals
from cli.approvals import answer_gate
from core.approvals.requests import ApprovalRequest
from emulator.slack import SlackEmulatorServer
from emulator.slack.interactions import build_click
from tasks.approvals.answer import ApprovalAnswer
from tasks.approvals.gate import HOLD_EXPIRED_MESSAGE
from tasks.approvals.slack_messages import post_approval_request
from tests.approvals.conftest import ALICE, APPROVERS, request_fields, send
from tests.fixtures.slack import SLACK_SIGNING_SECRET

pytestmark = pytest.mark.slow

#: Alice's e-mail in the Slack directory (tests/approvals/conftest.py ``people``).
ALICE_EMAIL = "alice@acme.example"

#: How long the flow stays Running between its two waits: longer than a click takes to land.
BETWEEN_WAITS_SECONDS = 1.5

#: Run id by gate, once the click may land (flow parameters are copies, so the flow cannot
#: hand it back through one).
READY: dict[str, str] = {}


@flow(name="hold-expiry-race-test")
async def hold_then_wait_again(
    slack: SlackApprovals, gate: str, fields: dict[str, Any], window: str
) -> dict[str, Any]:
    run_id = str(flow_run.get_id())
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
    if window == "form not saved":
        return await _paused_form_saved_late(run_id, gate, form)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1):
            await apause_flow_run(wait_for_input=form, key=gate, timeout=60, poll_interval=1)
    async with get_client() as client:
        await client.set_flow_run_state(uuid.UUID(run_id), Running(message=HOLD_EXPIRED_MESSAGE))
    READY[gate] = run_id
    await asyncio.sleep(BETWEEN_WAITS_SECONDS)
    answer = await apause_flow_run(
        wait_for_input=form, key=f"{gate}-r1", timeout=30, poll_interval=1
    )
    return answer.model_dump()


async def _paused_form_saved_late(
    run_id: str, gate: str, form: type[ApprovalAnswer]
) -> dict[str, Any]:
    """``apause_flow_run`` with the moment between Paused and the saved form stretched."""
    state = Paused(timeout_seconds=30, pause_key=gate)
    keyset = keyset_from_paused_state(state)
    state.state_details.run_input_keyset = keyset
    async with get_client() as client:
        await client.set_flow_run_state(uuid.UUID(run_id), state)
        READY[gate] = run_id
        await asyncio.sleep(BETWEEN_WAITS_SECONDS)
        await form.asave(keyset)
        async with asyncio.timeout(30):
            while True:
                run = await client.read_flow_run(uuid.UUID(run_id))
                if run.state is not None and run.state.is_running():
                    break
                await asyncio.sleep(0.2)
    return (await form.aload(keyset)).model_dump()


@pytest.fixture
async def cli_policy(runbook_policy: RunbookPolicy, slack_block: SlackApprovals) -> None:
    """The "default" policy the CLI loads for a run without one, with Slack for the
    approvers' directory (the request's own rules say who may vote)."""
    runbook_policy.slack = slack_block
    await runbook_policy.asave("default", overwrite=True)


@pytest.mark.parametrize("by", ["slack", "cli"])
@pytest.mark.parametrize("window", ["between waits", "form not saved"])
async def test_a_vote_on_a_run_not_quite_waiting_resumes_it(
    slack_block: SlackApprovals,
    slack_emulator: SlackEmulatorServer,
    service: Callable[[], Any],
    cli_policy: None,
    window: str,
    by: str,
) -> None:
    gate = f"offboard-{uuid.uuid4().hex[:8]}"
    outcome: list[State[Any] | BaseException] = []

    def target() -> None:
        try:
            outcome.append(
                asyncio.run(
                    hold_then_wait_again(
                        slack_block, gate, request_fields(), window, return_state=True
                    )
                )
            )
        except BaseException as ex:  # surfaced below
            outcome.append(ex)

    thread = threading.Thread(target=target, daemon=True, name=f"flow-{gate}")
    thread.start()
    async with asyncio.timeout(60):
        while gate not in READY:
            assert not outcome, outcome
            await asyncio.sleep(0.05)
    if by == "cli":
        # Before the CLI waited windows out, it refused: "not waiting for approval (state:
        # Running)" between waits, "Prefect did not wake the run" before the form was saved.
        assert await answer_gate(READY[gate], approved=True, approver=ALICE_EMAIL) == gate
    else:
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
