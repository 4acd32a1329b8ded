"""Prefect's pause, woken by the run's own ``Running`` event instead of its next poll.

``apause_flow_run`` finds out that someone answered by reading the flow run every
``poll_interval`` seconds (the policy's ``poll_interval_seconds``, 5 by default), so an
approver's click waited up to that long before anything happened in Arize. The Prefect server
emits ``prefect.flow-run.Running`` the moment a resume is accepted, and its event stream brings
it to a subscriber within tens of milliseconds. So the pause runs with a subscription beside
it: on the run's Running event the answer is read from where the resume stored it, and the
pause's own polling is dropped. The poll stays as the fallback: a server without the event
stream, a subscription that could not be made or broke, an event that went missing all leave
the wait exactly as Prefect does it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from prefect import get_client
from prefect.client.orchestration import PrefectClient
from prefect.events.clients import get_events_subscriber
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.flow_runs import apause_flow_run
from prefect.input.run_input import RunInput, keyset_from_base_key
from prefect.runtime import flow_run

logger = logging.getLogger(__name__)

Form = TypeVar("Form", bound=RunInput)

RUNNING_EVENT = "prefect.flow-run.Running"
SUBSCRIBE_SECONDS = 2.0
"""How long the pause waits for its subscription before pausing without one (the poll then
answers, as before)."""

COMMIT_RETRY_SECONDS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8)
"""Waits for the resume's transaction to commit after its event (about 1.6 s in all)."""

Subscribe = Callable[[UUID, datetime, asyncio.Event], Awaitable[None]]
"""Wait for ``run_id``'s Running event at or after ``since``; set the event once subscribed."""


async def pause_until_answered(
    form: type[Form],
    key: str,
    expires_in: float,
    poll_interval: float,
    *,
    subscribe: Subscribe | None = None,
) -> Form:
    """``apause_flow_run(wait_for_input=form, key=key, timeout=expires_in, …)``, returning as
    soon as the run is resumed.

    A Running event without a stored answer (something set the state by hand) changes nothing:
    the pause goes on and answers as Prefect's pause would.
    """
    run_id = UUID(str(flow_run.id))
    watch = subscribe or _running_event
    subscribed = asyncio.Event()
    woken: asyncio.Future[Any] = asyncio.ensure_future(
        watch(run_id, datetime.now(UTC), subscribed)
    )
    # Subscribed before pausing, so a click in the pause's first milliseconds is not missed.
    ready = asyncio.ensure_future(subscribed.wait())
    await asyncio.wait(
        {ready, woken}, timeout=SUBSCRIBE_SECONDS, return_when=asyncio.FIRST_COMPLETED
    )
    ready.cancel()
    paused = asyncio.ensure_future(
        apause_flow_run(
            wait_for_input=form,
            key=key,
            timeout=int(expires_in),
            poll_interval=poll_interval,  # type: ignore[arg-type]
        )
    )
    try:
        pending: set[asyncio.Future[Any]] = {paused, woken}
        while True:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if paused in done:
                return paused.result()
            if woken.exception() is not None:
                # No event stream here: Prefect's poll answers.
                logger.debug("pause %s: no Running event (%r); polling", key, woken.exception())
                continue
            async with get_client() as client:
                answer = await _committed_answer(client, run_id, key)
            if answer is not None:
                return form(**answer)
            # Running with no answer behind it (set by hand): watch for the next resume.
            woken = asyncio.ensure_future(
                watch(run_id, datetime.now(UTC), asyncio.Event())
            )
            pending.add(woken)
    finally:
        for task in (paused, woken):
            task.cancel()
        await asyncio.gather(paused, woken, return_exceptions=True)


async def stored_answer(client: PrefectClient, run_id: UUID, key: str) -> dict[str, Any] | None:
    """The answer a resume stored for the pause ``key``, if any (where Prefect's pause reads
    it)."""
    response = keyset_from_base_key(f"paused-{key}")["response"]
    try:
        value = await client.read_flow_run_input(run_id, response)
    except ObjectNotFound:
        return None
    except PrefectHTTPStatusError as ex:
        if ex.response.status_code == 404:
            return None
        raise
    loaded = json.loads(value)
    return loaded if isinstance(loaded, dict) else None


async def _committed_answer(
    client: PrefectClient, run_id: UUID, key: str
) -> dict[str, Any] | None:
    """The stored answer, read once the resume that sent the event has committed.

    The server emits the Running event inside the resume's transaction, before the state and
    the answer (saved in the same transaction) can be read: while the run still reads Paused,
    the answer is on its way. A run that stays Paused is left to Prefect's poll.
    """
    for pause in (*COMMIT_RETRY_SECONDS, None):
        run = await client.read_flow_run(run_id)
        if run.state is not None and not run.state.is_paused():
            return await stored_answer(client, run_id, key)
        if pause is None:
            return None
        await asyncio.sleep(pause)
    return None  # pragma: no cover


async def _running_event(run_id: UUID, since: datetime, subscribed: asyncio.Event) -> None:
    """Return on the run's first Running event that occurred at or after ``since``."""
    events = EventFilter(
        event=EventNameFilter(name=[RUNNING_EVENT]),
        resource=EventResourceFilter(id=[f"prefect.flow-run.{run_id}"]),
    )
    async with get_events_subscriber(filter=events, reconnection_attempts=2) as subscriber:
        subscribed.set()
        async for event in subscriber:
            # The subscription may replay recent events: the run was Running before it paused.
            if event.event == RUNNING_EVENT and event.occurred >= since:
                return

