"""Approvals survive restarts on the README's single-server setup: `prefect server start`
(SQLite), one `prefect worker start`, the runbooks deployed from prefect.yaml.

A leaver is held at its gate (its flow-run process waits). The Prefect server is restarted:
the held run is still waiting under the same key and holds no concurrency lease that the
restart lost (the offboard-user deployment limit used to hold one; its renewal after a
restart got 410 Gone and Prefect crashed the run). Then the worker is restarted the
documented way (ops.worker_stop): the held run suspends under its gate's next key; the server
is restarted once more while it is suspended. The approver's answer completes the run under
its id, and it never crashed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
import yaml
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.exceptions import ObjectAlreadyExists
from prefect.settings import PREFECT_API_URL, temporary_settings

from blocks.arize import ArizeCredentials
from blocks.key_store import ArizeKeyStore
from blocks.policy import RunbookPolicy
from cli.approvals import answer_gate
from core.approvals.rules import ApprovalPolicy
from ops.ha_stack import WORK_POOL, deploy, free_port
from ops.processes import ManagedProcess
from ops.worker_stop import stop_worker
from tasks.approvals.gate import deployment_wait_keys
from tests.fixtures.prefect import prefect_server_process, seed_database
from tests.fixtures.runbooks import APPROVER, form_saved

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

ROOT = Path(__file__).parents[2]
DEADLINE = 300.0


class SingleServer:
    """`prefect server start` on SQLite in its own PREFECT_HOME, restartable on one port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.env = {
            "PREFECT_HOME": str(workdir / "prefect-home"),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        self.server: ManagedProcess | None = None
        self.worker: ManagedProcess | None = None
        self.workers = 0

    def start_server(self) -> None:
        self.server = prefect_server_process(self.workdir, self.port)
        self.server.start()
        self.server.wait_healthy()

    def start_worker(self) -> None:
        self.workers += 1
        self.worker = ManagedProcess(
            f"worker-{self.workers}",
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", WORK_POOL,
             "--type", "process"],
            {**self.env, "PREFECT_WORKER_QUERY_SECONDS": "1",
             "ARIZE_RUNBOOKS_HOME": str(ROOT)},
            self.workdir / "logs", cwd=ROOT,
        )
        self.worker.start()
        self.worker.wait_healthy()

    def stop(self) -> None:
        for process in (self.worker, self.server):
            if process is not None:
                process.stop()


@pytest.fixture
def single(tmp_path: Path, arize, prefect_template: Path) -> Iterator[SingleServer]:
    stack = SingleServer(tmp_path)
    # Restarts are the subject here, not a first start: the server starts on a migrated copy.
    seed_database(prefect_template, tmp_path / "prefect-home")
    try:
        stack.start_server()
        asyncio.run(_setup(stack.api_url, arize.base_url, arize.admin_key))
        deploy(stack.api_url)
        stack.start_worker()
        yield stack
    finally:
        stack.stop()


async def _setup(api_url: str, arize_url: str, admin_key: str) -> None:
    async with PrefectClient(api_url) as client:
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_work_pool(WorkPoolCreate(name=WORK_POOL, type="process"))
    await _policy(api_url, arize_url, admin_key, hold_seconds=300)


async def _policy(api_url: str, arize_url: str, admin_key: str, *, hold_seconds: int) -> None:
    with temporary_settings({PREFECT_API_URL: api_url}):
        await RunbookPolicy(
            credentials=ArizeCredentials(api_key=admin_key, base_url=arize_url),
            key_store=ArizeKeyStore(prefix=f"restart-{uuid.uuid4().hex[:8]}"),
            approval=ApprovalPolicy(timeout_seconds=1800, hold_seconds=hold_seconds,
                                    approver_emails=[APPROVER]),
            poll_interval_seconds=1,
            rate_limit=None,
        ).asave("default", overwrite=True)


async def _offboard(api_url: str, email: str) -> UUID:
    spec = yaml.safe_load((ROOT / "examples" / "offboard-user.yaml").read_text())
    spec["email"] = email
    async with PrefectClient(api_url) as client:
        deployment = await client.read_deployment_by_name("offboard-user/offboard-user")
        run = await client.create_flow_run_from_deployment(
            deployment.id, parameters={"spec": spec}
        )
    return run.id


async def _waiting(api_url: str, run_id: UUID, name: str) -> FlowRun:
    """The run once Paused under ``name`` with its answer form saved."""
    async with PrefectClient(api_url) as client:
        try:
            async with asyncio.timeout(DEADLINE):
                return await _poll_waiting(client, run_id, name)
        except TimeoutError:
            history = await client.read_flow_run_states(run_id)
            pytest.fail(f"not {name}: {[(s.name, s.message) for s in history]}")


async def _poll_waiting(client: PrefectClient, run_id: UUID, name: str) -> FlowRun:
    while True:
        run = await client.read_flow_run(run_id)
        state = run.state
        assert state is None or not state.is_final(), f"ended {state}"
        if state is not None and state.name == name and await form_saved(run_id, state, client):
            return run
        await asyncio.sleep(0.5)


async def _final(api_url: str, run_id: UUID) -> FlowRun:
    async with PrefectClient(api_url) as client, asyncio.timeout(DEADLINE):
        while True:
            run = await client.read_flow_run(run_id)
            if run.state is not None and run.state.is_final():
                return run
            await asyncio.sleep(0.5)


async def test_held_and_suspended_leavers_survive_server_and_worker_restarts(
    single: SingleServer, arize
):
    api = single.api_url
    held_id = await _offboard(api, "lee.leaver@acme.example")
    held = await _waiting(api, held_id, "Paused")
    key = held.state.state_details.pause_key

    # The Prefect server restarts while the leaver is held.
    single.server.stop()
    single.start_server()
    after = await _waiting(api, held_id, "Paused")
    assert after.state.state_details.pause_key == key, "waiting again under the same request"
    lease = after.state.state_details.deployment_concurrency_lease_id
    if lease is not None:
        # What the flow-run process does at its next lease renewal; a lost lease is 410 and
        # Prefect then cancels the run, which ends Crashed.
        async with PrefectClient(api) as client:
            await client.renew_concurrency_lease(lease, lease_duration=300)

    # The worker restarts: stopped the documented way, the held run suspends at once.
    assert single.worker is not None and single.worker.pid is not None
    with temporary_settings({PREFECT_API_URL: api}):
        assert await asyncio.to_thread(stop_worker, single.worker.pid, 120.0)
    single.worker.stop()
    suspended = await _waiting(api, held_id, "Suspended")
    assert suspended.state.state_details.pause_key == deployment_wait_keys(key, 0)[1]
    # The server restarts again while the run is suspended; a new worker comes up.
    single.server.stop()
    single.start_server()
    assert (await _waiting(api, held_id, "Suspended")).state.state_details.pause_key == (
        suspended.state.state_details.pause_key
    )
    single.start_worker()

    with temporary_settings({PREFECT_API_URL: api}):
        await answer_gate(held_id, approved=True, approver=APPROVER)
    done = await _final(api, held_id)
    assert done.state.type is StateType.COMPLETED, done.state
    async with PrefectClient(api) as client:
        history = await client.read_flow_run_states(held_id)
    assert not [s for s in history if s.type is StateType.CRASHED]
