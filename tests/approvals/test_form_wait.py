"""The tests' wait for a gate (``wait_for_paused_run``, ``waits_again``) returns only once the
paused run has saved its answer form, in Prefect's order: the Paused state first, then the
schema, then the description. CI twice resumed or read a gate in between.

The interleaving is put in place by hand, on a real run in the harness: the run is set Paused,
the form's parts are saved one at a time, and between them the helper is seen to have checked
the form and gone on waiting (``form_saved`` answered no twice), not slept past it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from prefect import Flow, get_client
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import FlowRun, State
from prefect.input.run_input import keyset_from_paused_state
from prefect.states import Paused, Running

import tests.fixtures.runbooks as runbooks

#: The helpers' own check, which the fixture below counts the calls of.
_real_form_saved = runbooks.form_saved


class FormChecks:
    """``form_saved`` as the helpers call it, counting the checks that found no form."""

    def __init__(self) -> None:
        self.missing = 0
        self.changed = asyncio.Condition()

    async def __call__(
        self, run_id: uuid.UUID, state: State, client: PrefectClient | None = None
    ) -> bool:
        saved = await _real_form_saved(run_id, state, client)
        if not saved:
            async with self.changed:
                self.missing += 1
                self.changed.notify_all()
        return saved

    async def another_two(self, helper: asyncio.Task[FlowRun]) -> None:
        """Until the helper has found the form missing twice more from now; it must still be
        waiting then."""
        seen = self.missing

        async def two_more() -> None:
            async with self.changed:
                await self.changed.wait_for(lambda: self.missing >= seen + 2)

        counted = asyncio.ensure_future(two_more())
        try:
            await asyncio.wait({counted, helper}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        finally:
            counted.cancel()
        assert not helper.done(), "the helper returned before the whole form was saved"
        assert self.missing >= seen + 2, "the helper stopped checking the form"


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> FormChecks:
    counting = FormChecks()
    monkeypatch.setattr(runbooks, "form_saved", counting)
    return counting


def _noop() -> None:
    """The body of the stand-in flows: their runs are only ever set Paused by hand."""


async def _paused_run(flow_name: str, pause_key: str) -> FlowRun:
    async with get_client() as client:
        run = await client.create_flow_run(Flow(_noop, name=flow_name))
        await client.set_flow_run_state(run.id, Running(), force=True)
        await _pause(client, run.id, pause_key)
        return await client.read_flow_run(run.id)


async def _pause(client: PrefectClient, run_id: uuid.UUID, pause_key: str) -> None:
    state = Paused(timeout_seconds=600, pause_key=pause_key)
    await client.set_flow_run_state(run_id, state, force=True)


async def _save(run_id: uuid.UUID, part: str) -> None:
    async with get_client() as client:
        run = await client.read_flow_run(run_id)
        assert run.state is not None
        await client.create_flow_run_input(run_id, keyset_from_paused_state(run.state)[part], "{}")


async def _waits_for_the_whole_form(
    run_id: uuid.UUID, checks: FormChecks, waiting: Callable[[], Awaitable[FlowRun]]
) -> None:
    helper = asyncio.create_task(waiting())
    try:
        await checks.another_two(helper)  # paused, no form yet
        await _save(run_id, "schema")
        await checks.another_two(helper)  # the schema alone is not the form
        await _save(run_id, "description")
        found = await asyncio.wait_for(helper, 30)
        assert found.id == run_id
        assert found.state is not None and found.state.is_paused()
    finally:
        helper.cancel()


async def test_wait_for_paused_run_returns_only_once_schema_and_description_are_saved(
    prefect_harness: str, checks: FormChecks
) -> None:
    flow_name = f"form-wait-{uuid.uuid4().hex[:8]}"
    since = datetime.now(UTC) - timedelta(seconds=1)
    run = await _paused_run(flow_name, "approval")

    await _waits_for_the_whole_form(
        run.id, checks, lambda: runbooks.wait_for_paused_run(flow_name, since)
    )


async def test_waits_again_returns_only_once_the_new_pause_s_form_is_saved(
    prefect_harness: str, checks: FormChecks
) -> None:
    run = await _paused_run(f"form-wait-{uuid.uuid4().hex[:8]}", "approval")
    await _save(run.id, "schema")
    await _save(run.id, "description")
    async with get_client() as client:  # woken, not decided: it pauses again, new key
        await client.set_flow_run_state(run.id, Running(), force=True)
        await _pause(client, run.id, "approval-r1")

    await _waits_for_the_whole_form(
        run.id, checks, lambda: runbooks.waits_again(run.id, "approval")
    )
