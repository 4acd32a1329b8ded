"""A worker SIGKILLed with its flow-run process at each moment of a run's life: the run is
detected, crashed, rescheduled and completed under its own id, with nothing doubled.

The moments are injected, not timed: the new flow-run process is frozen (SIGSTOP) the moment
it appears under its worker, before it could tell the server anything, then

- killed while the run is still ``Pending`` (its worker died before the flow started);
- set ``Running`` first, as the engine does just before its first heartbeat, then killed: the
  run is Running and never heartbeated, which the "heartbeated, then went silent" trigger of
  old never matched, so the run stayed Running for ever (issue 25);
- or the run is left to reach its approval gate and hold there, then killed.

(Killed mid-apply, after heartbeats: tests/ha/test_worker_killed.py.)

The automations are (re)applied through the second API server, while the triggers run in the
services process and the runs are created through the first one.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
import yaml
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Running

from arize_admin import AsyncArizeAdmin
from blocks.arize import ArizeCredentials
from blocks.key_store import ArizeKeyStore
from blocks.policy import RunbookPolicy
from cli.approvals import answer_gate
from core.approvals.rules import ApprovalPolicy
from ops.crash_recovery import (
    MISSED_HEARTBEAT_MESSAGE,
    RESCHEDULED_STATE_NAME,
    ensure_crash_recovery,
    last_heartbeat,
)
from ops.processes import ManagedProcess
from ops.worker_stop import flow_run_processes
from tasks.reporting.crash_history import crash_resumptions
from tests.fixtures.arize import ADMIN_KEY
from tests.fixtures.runbooks import APPROVER, form_saved
from tests.ha.conftest import (
    FINAL,
    HA,
    HEARTBEAT_SECONDS,
    MISSED_HEARTBEATS,
    start_ha_stack,
    start_onboarding,
    team,
    wait_final,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

ROOT = Path(__file__).parents[2]
RECOVERY_WITHIN = 600.0
REPLACEMENTS = itertools.count(10)


@pytest.fixture(scope="module")
def ha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HA]:
    """A stack of this module's own, not the session's: the moments are injected by freezing
    the flow-run process under a known worker, which the workers other modules replaced
    (and their leftover runs) would make ambiguous."""
    with start_ha_stack(tmp_path_factory.mktemp("ha"), "kill") as started:
        # Through the API server the runs are not created on: triggers are evaluated in the
        # services process, which hears of automation changes through PostgreSQL.
        with temporary_settings({PREFECT_API_URL: started.stack.api_urls[1]}):
            asyncio.run(
                ensure_crash_recovery(
                    heartbeat_frequency=HEARTBEAT_SECONDS, missed_heartbeats=MISSED_HEARTBEATS
                )
            )
        yield started


async def save_policy(api_url: str, arize_base_url: str) -> None:
    """The runbook policy: approvals that outlive a crash and a reschedule (15 min)."""
    with temporary_settings({PREFECT_API_URL: api_url}):
        await RunbookPolicy(
            credentials=ArizeCredentials(api_key=ADMIN_KEY, base_url=arize_base_url),
            key_store=ArizeKeyStore(prefix=f"kill-{uuid.uuid4().hex[:8]}"),
            approval=ApprovalPolicy(
                timeout_seconds=900, hold_seconds=300, approver_emails=[APPROVER]
            ),
            poll_interval_seconds=1,
            rate_limit=None,
        ).asave("default", overwrite=True)


async def freeze_flow_process(ha: HA, run_id: UUID) -> ManagedProcess:
    """SIGSTOP the flow-run process of ``run_id`` as soon as it appears; the worker that
    started it.

    Found by its run, not as the first flow-run process under any worker: a run is Completed
    before its process has exited, and the previous test's, still exiting, was once frozen and
    killed instead of this run's.

    The process needs seconds to import Prefect and the flow before it proposes Running,
    and this looks every 20 ms, so it is stopped before it has told the server anything.
    """
    async with asyncio.timeout(180):
        while True:
            for worker in ha.stack.workers:
                process = flow_run_processes(worker.pid).get(run_id) if worker.pid else None
                if process is not None:
                    process.send_signal(signal.SIGSTOP)
                    return worker
            await asyncio.sleep(0.02)


def kill_and_replace(ha: HA, worker: ManagedProcess) -> None:
    """SIGKILL the worker and its flow-run processes (a lost machine); start a new worker."""
    killed = worker.kill_with_children()
    assert len(killed) >= 2, "the worker had no flow-run process"
    ha.stack.workers.remove(worker)
    ha.stack.start_worker(next(REPLACEMENTS))


async def runs_of_deployment(api_url: str, deployment_id: UUID) -> list[FlowRun]:
    async with PrefectClient(api_url) as client:
        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )


async def assert_recovered_once(api_url: str, run: FlowRun, before: set[UUID]) -> FlowRun:
    """The run ends COMPLETED under its id after one crash by the heartbeat automation and one
    reschedule, and no other run of its deployment was created."""
    final = (await wait_final(api_url, [run.id], within=RECOVERY_WITHIN))[run.id]
    assert final.state.type is StateType.COMPLETED, final.state
    async with PrefectClient(api_url) as client:
        history = await client.read_flow_run_states(run.id)
    resumptions = crash_resumptions(history)
    ordered = sorted(history, key=lambda s: s.timestamp)
    # A text, not a list: pytest cuts a list's repr short, and the middle is what one needs.
    assert len(resumptions) == 1, "\n".join(
        f"{s.timestamp.isoformat()} {s.name}: {s.message}" for s in ordered
    )
    (resumption,) = resumptions
    assert resumption.crash_message == MISSED_HEARTBEAT_MESSAGE
    assert RESCHEDULED_STATE_NAME in [s.name for s in history]
    now = {r.id for r in await runs_of_deployment(api_url, run.deployment_id)}
    assert now - before == {run.id}, "a duplicate run was created"
    return final


async def assert_team_onboarded_once(arize, spec: dict) -> None:
    async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
        org = await client.organizations.find_by_name("Acme")
        spaces = [s async for s in client.spaces.list(org_id=org.id) if s.name == spec["space"]]
        users = [u async for u in client.users.list(email=f"{spec['space']}.")]
    assert len(spaces) == 1
    assert sorted(u.email for u in users) == sorted(m["email"] for m in spec["members"])


async def test_worker_killed_while_the_run_is_pending(ha: HA, arize):
    api_url = ha.stack.api_urls[0]
    await save_policy(api_url, arize.base_url)
    spec = team("kill-pending", members=3)
    run = await start_onboarding(api_url, spec)
    before = {r.id for r in await runs_of_deployment(api_url, run.deployment_id)} - {run.id}

    worker = await freeze_flow_process(ha, run.id)
    async with PrefectClient(api_url) as client:
        state = (await client.read_flow_run(run.id)).state
    assert state is not None and state.type is StateType.PENDING, state
    kill_and_replace(ha, worker)

    final = await assert_recovered_once(api_url, run, before)
    assert final.run_count == 1, "it ran once: the Pending attempt never started the flow"
    await assert_team_onboarded_once(arize, spec)


async def test_worker_killed_when_running_before_the_first_heartbeat(ha: HA, arize):
    api_url = ha.stack.api_urls[0]
    await save_policy(api_url, arize.base_url)
    spec = team("kill-first-beat", members=3)
    run = await start_onboarding(api_url, spec)
    before = {r.id for r in await runs_of_deployment(api_url, run.deployment_id)} - {run.id}

    worker = await freeze_flow_process(ha, run.id)
    async with PrefectClient(api_url) as client:
        # What the engine proposes just before it starts heartbeating.
        result = await client.set_flow_run_state(run.id, Running())
        assert result.state is not None and result.state.type is StateType.RUNNING
    kill_and_replace(ha, worker)
    async with PrefectClient(api_url) as client:
        assert await last_heartbeat(client, run.id) is None

    final = await assert_recovered_once(api_url, run, before)
    assert final.run_count == 2
    await assert_team_onboarded_once(arize, spec)


async def test_worker_killed_while_the_gate_holds(ha: HA, arize):
    api_url = ha.stack.api_urls[0]
    await save_policy(api_url, arize.base_url)
    spec = yaml.safe_load((ROOT / "examples" / "restrict-project.yaml").read_text())
    async with PrefectClient(api_url) as client:
        deployment = await client.read_deployment_by_name("restrict-project/restrict-project")
        before = {r.id for r in await runs_of_deployment(api_url, deployment.id)}
        run = await client.create_flow_run_from_deployment(
            deployment.id, parameters={"spec": spec}
        )
        async with asyncio.timeout(300):
            while True:
                current = await client.read_flow_run(run.id)
                if current.state is not None and current.state.name == "Paused":
                    gate = current.state.state_details.pause_key or ""
                    break
                assert not (current.state and current.state.is_final()), current.state
                await asyncio.sleep(0.5)
    # A live held run is not taken for dead: its process heartbeats through the hold, so it
    # is still held after the whole silence window has passed.
    await asyncio.sleep(HEARTBEAT_SECONDS * MISSED_HEARTBEATS + 15)
    async with PrefectClient(api_url) as client:
        still = await client.read_flow_run(run.id)
    assert still.state is not None and still.state.name == "Paused", still.state
    holder = next(w for w in ha.stack.workers if w.pid and run.id in flow_run_processes(w.pid))
    kill_and_replace(ha, holder)

    # Crashed by the heartbeat automation, rescheduled, run again: it waits again under the
    # same request (held or suspended); the approver's answer completes it.
    async with PrefectClient(api_url) as client:
        try:
            async with asyncio.timeout(RECOVERY_WITHIN):
                while True:
                    current = await client.read_flow_run(run.id)
                    if current.state is not None and current.state.is_paused() and (
                        current.run_count >= 2
                    ):
                        break
                    # Crashed is a step on the way: the reschedule automation follows it.
                    assert current.state is None or current.state.type not in FINAL, current.state
                    await asyncio.sleep(1)
        except TimeoutError:
            history = await client.read_flow_run_states(run.id)
            pytest.fail(f"never waiting again: {[(s.name, s.message) for s in history]}")
    assert (current.state.state_details.pause_key or "").startswith(gate)
    with temporary_settings({PREFECT_API_URL: api_url}):
        async with asyncio.timeout(60):
            while True:
                if await form_saved(run.id, current.state):
                    break
                await asyncio.sleep(0.5)
        await answer_gate(run.id, approved=True, approver=APPROVER)

    await assert_recovered_once(api_url, run, before)
