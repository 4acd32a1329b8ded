"""Races on a grant's record, made deterministic by injecting the rival at the exact moment.

- An early revoke while the grant run is applying (the revoke finds no binding yet) and a rerun
  of a run whose grant has ended: neither may leave access behind.
- ``access keep`` and the grant run's final save, in both orders: neither write is lost.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest
from prefect import get_client
from prefect.client.orchestration import PrefectClient
from typer.testing import CliRunner

import flows.time_bound_access.grant as grant_flow
import flows.time_bound_access.records as access_grants
from cli.main import app
from flows.time_bound_access.grant import GrantResult
from flows.time_bound_access.records import AccessGrant, GrantStatus, list_grants, read_grant
from flows.time_bound_access.revoke_flow import revoke_expired_access, revoke_temporary_access
from tests.access.conftest import binding_of, grant, spec

runner = CliRunner()
WAIT = 60  # seconds an injected step waits for its rival before the test fails instead


async def _only_grant() -> AccessGrant:
    async with get_client() as client:
        [record] = await list_grants(client)
    return record


def _around_apply(
    monkeypatch: pytest.MonkeyPatch,
    *,
    before: Callable[[], Awaitable[None]] | None = None,
    after: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run ``before``/``after`` around the grant run's own apply (its first one only)."""
    real = grant_flow.apply_plan
    state = {"done": False}

    async def apply_plan(*args: Any, **kwargs: Any) -> Any:
        if state["done"]:
            return await real(*args, **kwargs)
        state["done"] = True
        if before is not None:
            await before()
        results = await real(*args, **kwargs)
        if after is not None:
            await after()
        return results

    monkeypatch.setattr(grant_flow, "apply_plan", apply_plan)


async def _keep(grant_id: str) -> Any:
    """``arize-runbooks access keep`` in its own thread and event loop, as a person runs it."""
    return await asyncio.to_thread(runner.invoke, app, ["access", "keep", grant_id])


async def test_early_revoke_while_the_grant_is_applied_leaves_no_access(
    arize, runbook_policy, monkeypatch
):
    told: list[str] = []

    async def revoke_now() -> None:
        # The record is pending and no binding exists yet: the revoke has nothing to remove.
        ended = await revoke_temporary_access(
            grant_id=(await _only_grant()).id, early=True, by="ops"
        )
        told.append(ended.message)

    _around_apply(monkeypatch, before=revoke_now)

    outcome = await grant(spec(duration=600))

    assert "nothing to remove" in told[0]
    record = await _only_grant()
    assert await binding_of(arize, "sam@acme.example", record.resource_id, "PROJECT") is None, (
        "the access outlived its early revoke"
    )
    assert outcome.result.value == "ended" and "removed again" in outcome.message
    assert record.status is GrantStatus.ENDED and "removed by the grant run" in record.end.outcome
    assert await revoke_expired_access() == []


async def test_rerun_of_a_run_whose_grant_ended_grants_nothing(arize, runbook_policy, monkeypatch):
    # One flow run id for both attempts: what Prefect gives a crash-rescheduled run.
    monkeypatch.setattr(grant_flow, "flow_run", SimpleNamespace(id=uuid.uuid4()))
    real_apply = grant_flow.apply_plan

    async def crash() -> None:
        raise RuntimeError("the worker died before the binding was created")

    _around_apply(monkeypatch, before=crash)
    with pytest.raises(RuntimeError, match="worker died"):
        await grant(spec(duration=600))
    pending = await _only_grant()
    assert pending.status is GrantStatus.PENDING
    ended = await revoke_temporary_access(grant_id=pending.id, early=True, by="ops")
    assert ended.ended and "nothing to remove" in ended.message
    monkeypatch.setattr(grant_flow, "apply_plan", real_apply)

    rerun = await grant(spec(duration=600))

    assert await binding_of(arize, "sam@acme.example", pending.resource_id, "PROJECT") is None, (
        "the rerun granted access for a grant that had ended"
    )
    assert rerun.result.value == "ended" and "already ended" in rerun.message


async def test_keep_during_the_apply_survives_the_runs_final_save(
    arize, runbook_policy, monkeypatch
):
    kept: list[Any] = []

    async def keep_now() -> None:
        kept.append(await _keep((await _only_grant()).id))

    _around_apply(monkeypatch, after=keep_now)

    outcome = await grant(spec(duration=600))

    assert outcome.result is GrantResult.GRANTED, outcome.message
    assert kept[0].exit_code == 0, kept[0].output
    async with get_client() as client:
        record = await read_grant(client, outcome.grant_id)
    assert record.standing, "the keep was overwritten by the run's final save"
    assert record.binding_id is not None and record.status is GrantStatus.ACTIVE
    await revoke_temporary_access(grant_id=record.id, early=True, by="ops")
    assert await binding_of(arize, "sam@acme.example", record.resource_id, "PROJECT") is not None


async def test_runs_final_save_between_keeps_read_and_write_is_kept(
    arize, runbook_policy, monkeypatch
):
    """``keep`` reads the pending record, the run saves its binding, then ``keep`` writes."""
    keep_has_read, run_has_saved = threading.Event(), threading.Event()
    keep_thread: dict[str, int] = {}
    real_create = PrefectClient.create_variable
    real_update = PrefectClient.update_variable

    async def hold_keeps_write(value: Any) -> None:
        if threading.get_ident() == keep_thread.get("id") and not keep_has_read.is_set():
            keep_has_read.set()
            # Blocks keep's own event loop (its thread) until the run's save is in.
            assert run_has_saved.wait(WAIT), "the grant run never saved its binding"

    async def create_variable(self: PrefectClient, variable: Any) -> Any:
        if isinstance(variable.value, dict) and variable.value.get("standing"):
            await hold_keeps_write(variable.value)
        return await real_create(self, variable)

    async def update_variable(self: PrefectClient, variable: Any) -> Any:
        if isinstance(variable.value, dict) and variable.value.get("standing"):
            await hold_keeps_write(variable.value)
        return await real_update(self, variable)

    monkeypatch.setattr(PrefectClient, "create_variable", create_variable)
    monkeypatch.setattr(PrefectClient, "update_variable", update_variable)
    kept: dict[str, Any] = {}

    def keep_in_thread(grant_id: str) -> None:
        keep_thread["id"] = threading.get_ident()
        kept["result"] = runner.invoke(app, ["access", "keep", grant_id])

    threads: list[threading.Thread] = []

    async def start_keep() -> None:
        thread = threading.Thread(target=keep_in_thread, args=((await _only_grant()).id,))
        threads.append(thread)
        thread.start()
        assert await asyncio.to_thread(keep_has_read.wait, WAIT), "keep never got to its write"

    real_schedule = grant_flow._schedule_revoke

    async def schedule_revoke(record: AccessGrant) -> None:
        run_has_saved.set()  # called right after the run's final save
        await real_schedule(record)

    _around_apply(monkeypatch, after=start_keep)
    monkeypatch.setattr(grant_flow, "_schedule_revoke", schedule_revoke)

    outcome = await grant(spec(duration=600))
    run_has_saved.set()
    await asyncio.to_thread(threads[0].join, WAIT)

    assert outcome.result is GrantResult.GRANTED, outcome.message
    assert kept["result"].exit_code == 0, kept["result"].output
    async with get_client() as client:
        record = await read_grant(client, outcome.grant_id)
    assert record.binding_id is not None, "keep's stale write erased the binding"
    assert record.granted_at is not None and record.status is GrantStatus.ACTIVE
    assert record.standing


async def test_compare_and_set_applies_both_changes_when_a_rival_writes_in_between(
    arize, runbook_policy, monkeypatch
):
    outcome = await grant(spec(duration=600))
    rival_done = False

    async def rival(current: AccessGrant, proposed: AccessGrant) -> None:
        nonlocal rival_done
        if rival_done:
            return
        rival_done = True
        async with get_client() as client:
            await access_grants.update_grant(
                client, current.id, lambda g: g.model_copy(update={"standing": True})
            )

    monkeypatch.setattr(access_grants, "before_revision_write", rival)
    async with get_client() as client:
        written = await access_grants.update_grant(
            client, outcome.grant_id, lambda g: g.model_copy(update={"reason": "still needed"})
        )
        record = await read_grant(client, outcome.grant_id)

    assert written.version == record.version == 4  # recorded, granted, the rival, this one
    assert record.standing and record.reason == "still needed"
    assert record.binding_id is not None
