"""A paused gate wakes on the run's Running event, not at its next poll, and falls back to the
poll whenever the event cannot tell it anything.

Each flow pauses with a poll far longer than the test's own timeout, so a pause that only
Prefect's poll could end fails the test instead of passing slowly; the fallback case pauses
with a 1 s poll and no event stream.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from tasks.approvals.answer import ApprovalAnswer
from tasks.approvals.pause import _running_event, pause_until_answered
from tests.fixtures.runbooks import form_saved

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

#: Longer than the test may take: a pause that had to wait for this poll fails by timeout.
NEVER = 3600
ALICE = "alice@acme.example"
RUN_IDS: dict[str, uuid.UUID] = {}
#: Set by each flow once its run id is known (a thread event: the flow may run on another loop).
STARTED: defaultdict[str, threading.Event] = defaultdict(threading.Event)


async def _no_events(run_id: uuid.UUID, since: datetime, subscribed: asyncio.Event) -> None:
    raise ConnectionError("no event stream on this server")


FIRE: dict[str, asyncio.Event] = {}


async def _bare_event_first(run_id: uuid.UUID, since: datetime, subscribed: asyncio.Event) -> None:
    """A Running event that arrives before anyone answered (a state set by hand), then the
    real subscription."""
    key = next(k for k, v in RUN_IDS.items() if v == run_id)
    if not FIRE[key].is_set():
        subscribed.set()
        await FIRE[key].wait()
        FIRE[key].clear()
        FIRE[key].set()  # once only: later watches are the real ones
        return
    await _running_event(run_id, since, subscribed)


#: How the pause hears of a resume: the real subscription, none, or a bare event first.
WATCHES: dict[str, Any] = {"events": None, "none": _no_events, "bare first": _bare_event_first}


@flow(name="pause-wake-test")
async def waits(key: str, poll: int, watch: str = "events") -> dict[str, Any]:
    RUN_IDS[key] = uuid.UUID(str(flow_run.get_id()))
    STARTED[key].set()
    answer = await pause_until_answered(
        ApprovalAnswer.with_initial_data(description="test"),
        key,
        expires_in=NEVER,
        poll_interval=poll,
        subscribe=WATCHES[watch],
    )
    return {"approved": answer.approved, "approver": answer.approver}


async def _paused_with_form(key: str) -> uuid.UUID:
    """The run, once Paused with its answer form saved (a resume before is refused)."""
    await asyncio.to_thread(STARTED[key].wait, 60)
    run_id = RUN_IDS[key]
    async with get_client() as client:
        while True:
            run = await client.read_flow_run(run_id)
            if (
                run.state is not None
                and run.state.is_paused()
                and await form_saved(run_id, run.state, client)
            ):
                return run_id
            await asyncio.sleep(0.05)


async def _answer(key: str) -> None:
    run_id = await _paused_with_form(key)
    async with get_client() as client:
        response = await client.resume_flow_run(
            run_id, run_input={"approved": True, "approver": ALICE}
        )
        assert response.status.value == "ACCEPT", response.details


async def _run(key: str, poll: int, watch: str = "events") -> dict[str, Any]:
    state, _ = await asyncio.gather(
        waits(key=key, poll=poll, watch=watch, return_state=True), _answer(key)
    )
    return await state.result()


@pytest.mark.usefixtures("prefect_harness")
async def test_a_resume_wakes_the_pause_at_once_not_at_its_poll() -> None:
    key = f"wake-{uuid.uuid4().hex[:8]}"
    assert await _run(key, poll=NEVER) == {"approved": True, "approver": ALICE}


@pytest.mark.usefixtures("prefect_harness")
async def test_without_an_event_stream_the_poll_answers() -> None:
    key = f"poll-{uuid.uuid4().hex[:8]}"
    assert await _run(key, poll=1, watch="none") == {"approved": True, "approver": ALICE}


@pytest.mark.usefixtures("prefect_harness")
async def test_a_running_event_without_an_answer_keeps_the_gate_waiting() -> None:
    key = f"bare-{uuid.uuid4().hex[:8]}"
    FIRE[key] = asyncio.Event()
    waiting = asyncio.ensure_future(
        waits(key=key, poll=NEVER, watch="bare first", return_state=True)
    )
    await _paused_with_form(key)
    FIRE[key].set()  # the wake with no answer stored: the gate reads nothing and waits on
    await asyncio.sleep(0)
    await _answer(key)  # the real resume, seen through the re-made subscription
    state = await waiting
    assert await state.result() == {"approved": True, "approver": ALICE}
