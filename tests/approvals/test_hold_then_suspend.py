"""A deployment run holds at its gate in its own process, then suspends.

restrict-project is deployed to a process pool and run by a real ``prefect worker start``
(polling every second) against the test harness; the gate is answered through the CLI's code
path. Answered within the hold, the run resumes in the process it paused in (one Pending, never
Suspended); with a hold of a few seconds and no answer it suspends, and the answer starts a new
flow-run process that finishes the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import psutil
import pytest
import yaml
from prefect import get_client
from prefect.client.schemas.objects import FlowRun, State, StateType

from cli.approvals import answer_gate
from flows.restrict_project.flow import restrict_project
from ops.worker_stop import stop_worker, suspend_held_runs
from tasks.approvals.gate import deployment_wait_keys
from tests.fixtures.prefect import deploy_as_shipped, process_worker
from tests.fixtures.runbooks import APPROVER, form_saved

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
POOL = "approvals-hold"
FLOW = "restrict-project"
DEADLINE = 120.0


@pytest.fixture
async def deployment_id(prefect_harness: str, tmp_path: Path) -> AsyncIterator[UUID]:
    """restrict-project deployed to a process pool, and a worker polling it every second."""
    deployment = await deploy_on(POOL, f"{FLOW}-hold")
    with process_worker(POOL, tmp_path / "worker.log"):
        yield deployment


async def deploy_on(pool: str, name: str) -> UUID:
    """restrict-project deployed as ``name`` to the process pool ``pool`` (created if new)."""
    async with get_client() as client:
        return await deploy_as_shipped(client, restrict_project, pool, name=name)


async def start(runbook_policy: Any, deployment_id: UUID, hold_seconds: int) -> UUID:
    runbook_policy.approval = runbook_policy.approval.model_copy(
        update={"hold_seconds": hold_seconds, "timeout_seconds": 300}
    )
    await runbook_policy.asave("default", overwrite=True)
    spec = yaml.safe_load((ROOT / "examples" / "restrict-project.yaml").read_text())
    async with get_client() as client:
        run = await client.create_flow_run_from_deployment(
            deployment_id, parameters={"spec": spec}
        )
    return run.id


async def until(run_id: UUID, done: Callable[[FlowRun], bool], what: str) -> FlowRun:
    """The run once ``done``; fails on a final state that is not wanted, or at the deadline."""
    async with asyncio.timeout(DEADLINE), get_client() as client:
        while True:
            run = await client.read_flow_run(run_id)
            if run.state is not None and done(run):
                return run
            assert run.state is None or not run.state.is_final(), f"ended {run.state} ({what})"
            await asyncio.sleep(0.2)


async def waiting(run_id: UUID, name: str) -> FlowRun:
    """The run once it waits in state ``name`` with its answer form saved.

    Prefect sets a pause's state before the run saves the pause's form, so a run seen in
    ``name`` without its form is polled again; a run that moved on from Paused to anything
    else is a failure.
    """
    while True:
        run = await until(run_id, lambda r: r.state.is_paused(), "waiting")
        if run.state.name == name:
            if await form_saved(run_id, run.state):
                return run
        else:
            assert run.state.name == "Paused", f"{run.state.name}, expected {name}"
        await asyncio.sleep(0.2)


async def history(run_id: UUID) -> list[State]:
    async with get_client() as client:
        return await client.read_flow_run_states(run_id)


def after(states: list[State], name: str) -> list[StateType]:
    """The types of the states after the first one named ``name``."""
    names = [s.name for s in states]
    return [s.type for s in states[names.index(name) + 1 :]]


async def test_an_answer_within_the_hold_resumes_the_same_process(
    arize, runbook_policy, deployment_id
):
    run_id = await start(runbook_policy, deployment_id, hold_seconds=120)
    run = await waiting(run_id, "Paused")
    # The hold is the gate's first wait: its key is the gate's own.
    assert (run.state.state_details.pause_key or "").startswith("approve-")
    assert "-r" not in (run.state.state_details.pause_key or "")

    await answer_gate(run_id, approved=True, approver=APPROVER)

    done = await until(run_id, lambda r: r.state.is_final(), "final")
    assert done.state.type is StateType.COMPLETED
    states = await history(run_id)
    assert not [s for s in states if s.name == "Suspended"]
    assert [s.name for s in states if s.type is StateType.PAUSED] == ["Paused"]
    # No new flow-run process after the pause: straight back to Running, then Completed.
    assert after(states, "Paused") == [StateType.RUNNING, StateType.COMPLETED]


async def test_an_unanswered_hold_suspends_and_the_answer_still_completes_the_run(
    arize, runbook_policy, deployment_id
):
    run_id = await start(runbook_policy, deployment_id, hold_seconds=2)
    held = await waiting(run_id, "Paused")
    gate = held.state.state_details.pause_key or ""
    suspended = await waiting(run_id, "Suspended")
    assert suspended.state.state_details.pause_key == deployment_wait_keys(gate, 0)[1]

    await answer_gate(run_id, approved=True, approver=APPROVER)

    done = await until(run_id, lambda r: r.state.is_final(), "final")
    assert done.state.type is StateType.COMPLETED
    states = await history(run_id)
    assert [s.name for s in states if s.type is StateType.PAUSED] == ["Paused", "Suspended"]
    # The hold's end put the run back to Running to suspend it; the answer to the suspension
    # needed a new flow-run process (Scheduled, Pending) before it ran again.
    assert after(states, "Paused")[0] is StateType.RUNNING
    resumed = after(states, "Suspended")
    assert resumed[0] is StateType.SCHEDULED and StateType.PENDING in resumed
    assert resumed[-1] is StateType.COMPLETED


async def test_a_stopped_worker_suspends_its_held_run_at_once_and_the_answer_completes_it(
    arize, runbook_policy, prefect_harness, tmp_path: Path
):
    """SIGTERM to the held flow-run process (ops.worker_stop) ends a 10-minute hold at once:
    the run suspends under its usual key, the process and then the worker exit, and the
    approver's answer completes the run on another worker."""
    pool = "approvals-stop"
    deployment = await deploy_on(pool, f"{FLOW}-stop")
    with process_worker(pool, tmp_path / "worker-1.log") as worker:
        run_id = await start(runbook_policy, deployment, hold_seconds=600)
        held = await waiting(run_id, "Paused")
        gate = held.state.state_details.pause_key or ""

        signalled = await asyncio.to_thread(suspend_held_runs, worker.pid)
        assert signalled == [run_id]
        # Well inside the 10-minute hold: only the signal can have ended it.
        suspended = await waiting(run_id, "Suspended")
        assert suspended.state.state_details.pause_key == deployment_wait_keys(gate, 0)[1]
        stopped = await asyncio.to_thread(stop_worker, worker.pid, 120.0)
        assert stopped, f"the worker did not exit; still there: {_process_tree(worker.pid)}"
        assert worker.poll() is not None

    with process_worker(pool, tmp_path / "worker-2.log"):
        await answer_gate(run_id, approved=True, approver=APPROVER)
        done = await until(run_id, lambda r: r.state.is_final(), "final")
    assert done.state.type is StateType.COMPLETED
    states = await history(run_id)
    assert [s.name for s in states if s.type is StateType.PAUSED] == ["Paused", "Suspended"]
    assert not [s for s in states if s.type is StateType.CRASHED]


async def test_sigterm_to_the_documented_worker_command_suspends_held_runs_and_it_exits(
    arize, runbook_policy, prefect_harness, tmp_path: Path
):
    """`arize-runbooks worker` (the README's and the operations doc's worker) answers SIGTERM
    as a deploy sends it: the held gate suspends at once instead of keeping the worker for the
    rest of its 10-minute hold, the worker exits by itself (no SIGKILL), and the answer
    completes the run on the next worker."""
    pool = "approvals-stop-cli"
    deployment = await deploy_on(pool, f"{FLOW}-stop-cli")
    log = tmp_path / "worker-cli.log"
    worker = documented_worker(pool, log)
    try:
        run_id = await start(runbook_policy, deployment, hold_seconds=600)
        await waiting(run_id, "Paused")
        worker.send_signal(signal.SIGTERM)
        # The wrapper kills the worker itself only after 10 s; a clean exit is code 0 or 130/143
        # from Prefect's own interrupt handling, never -9.
        code = await asyncio.to_thread(worker.wait, 120)
        assert code != -signal.SIGKILL, log.read_text()[-3000:]
        suspended = await waiting(run_id, "Suspended")
        assert suspended.state.type is StateType.PAUSED
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    with process_worker(pool, tmp_path / "worker-next.log"):
        await answer_gate(run_id, approved=True, approver=APPROVER)
        done = await until(run_id, lambda r: r.state.is_final(), "final")
    assert done.state.type is StateType.COMPLETED
    assert not [s for s in await history(run_id) if s.type is StateType.CRASHED]


def documented_worker(pool: str, log: Path) -> subprocess.Popen[bytes]:
    """``arize-runbooks worker --pool POOL``, as the README starts it."""
    return subprocess.Popen([sys.executable, "-m", "cli.main", "worker", "--pool", pool],
                            cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _process_tree(pid: int) -> list[str]:
    """What is left of a worker, for a failure's message: each process, its state and command."""
    left = []
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                left.append(f"{process.pid} {process.status()} {' '.join(process.cmdline())[:160]}")
    return left
