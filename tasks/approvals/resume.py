"""Waking a run at its gate: Prefect's resume, tried again while the run is only about to wait.

Prefect refuses a resume in two short windows, and a vote can land in either:

- a deployment run's hold just ended, and the run is Running on its way to Suspended (the
  gate's :data:`~tasks.approvals.gate.HOLD_EXPIRED_MESSAGE`);
- the run is Paused or Suspended, but its answer form is not saved yet: Prefect proposes the
  state first and saves the form after.

A vote in either window is as good as one a moment later, so the Slack click and the CLI's
``approve`` both come through here and wait the window out (a few seconds at most) instead of
telling the voter that the run could not be woken. Any other refusal (another vote woke it, it
finished, it expired) is final at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.responses import OrchestrationResult, SetStateStatus

from tasks.approvals.gate import HOLD_EXPIRED_MESSAGE

logger = logging.getLogger(__name__)

#: How long a vote waits for a run that is about to wait, and the first and longest pause
#: between tries.
RESUME_RETRY_SECONDS = 5.0
RESUME_RETRY_FIRST_DELAY = 0.1
RESUME_RETRY_MAX_DELAY = 1.0

#: Prefect's reasons for the two refusals that end by themselves.
SCHEMA_NOT_SAVED = "Run input schema not found."
NOT_PAUSED = "Cannot resume a flow run that is not paused."


def retry_delays(started: float) -> Iterator[float]:
    """The pauses between tries: doubling from the first to the longest, and none that would
    end past ``RESUME_RETRY_SECONDS`` after ``started`` (a ``time.monotonic()`` reading taken
    before the first try)."""
    deadline = started + RESUME_RETRY_SECONDS
    delay = RESUME_RETRY_FIRST_DELAY
    while time.monotonic() + delay <= deadline:
        yield delay
        delay = min(delay * 2, RESUME_RETRY_MAX_DELAY)


def about_to_wait(run: FlowRun) -> bool:
    """Whether ``run`` is between waits of its gate: its hold just ended and it is suspending.

    Only the gate sets this Running state, and it moves on to Suspended within a moment.
    """
    state = run.state
    return state is not None and state.is_running() and state.message == HOLD_EXPIRED_MESSAGE


async def settled(prefect: PrefectClient, run_id: UUID) -> FlowRun:
    """The run, once it is not between two waits of its gate (bounded wait).

    Raises:
        ObjectNotFound: no such run.
    """
    delays = retry_delays(time.monotonic())
    run = await prefect.read_flow_run(run_id)
    for delay in delays:
        if not about_to_wait(run):
            break
        await asyncio.sleep(delay)
        run = await prefect.read_flow_run(run_id)
    return run


async def resume_when_waiting(
    prefect: PrefectClient, run_id: UUID, run_input: dict[str, Any]
) -> OrchestrationResult[Any]:
    """``resume_flow_run(run_id, run_input=…)``, tried again for a few seconds while the run
    is only about to wait; the last answer Prefect gave."""
    delays = retry_delays(time.monotonic())
    result = await prefect.resume_flow_run(run_id, run_input=run_input)
    for delay in delays:
        if result.status == SetStateStatus.ACCEPT:
            break
        reason = getattr(result.details, "reason", None)
        if reason == NOT_PAUSED:
            if not about_to_wait(await prefect.read_flow_run(run_id)):
                break
        elif reason != SCHEMA_NOT_SAVED:
            break
        logger.info("Run %s is not waiting yet (%s); resuming again", run_id, reason)
        await asyncio.sleep(delay)
        result = await prefect.resume_flow_run(run_id, run_input=run_input)
    return result
