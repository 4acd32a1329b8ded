"""Server and worker killed while a grant is open: after the restart the grant is revoked.

A real ``prefect server start`` (its SQLite file kept across the restart) and a real process
worker run the revoke deployments; the grant flow runs here, against that server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prefect import get_client
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.client.schemas.schedules import IntervalSchedule
from prefect.settings import PREFECT_API_URL, temporary_settings

from blocks.policy import RunbookPolicy
from cli.stack import PrefectServer
from flows.time_bound_access.grant import GrantResult
from flows.time_bound_access.records import read_grant
from flows.time_bound_access.revoke_flow import revoke_expired_access, revoke_temporary_access
from tests.access.conftest import binding_of, grant, spec, until
from tests.fixtures.prefect import deploy_as_shipped, seed_database

# The whole item is bounded, setup included: beside the parallel part (make test) its setup
# took 96 s and its call 169 s in one run each, too near the suite's 300 s default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

ROOT = Path(__file__).parents[2]
POOL = "access-restart"
SWEEP_SECONDS = 10
SERVER_ENV = {
    # Schedule and pick up runs within seconds, not the default minute.
    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS": "2",
}


def start_worker(server: PrefectServer, log: Path) -> subprocess.Popen[bytes]:
    """``prefect worker start`` on the pool, polling every second."""
    return subprocess.Popen(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--type", "process"],
        env={**os.environ, **server.client_env(), "PREFECT_WORKER_QUERY_SECONDS": "1",
             "PREFECT_WORKER_PREFETCH_SECONDS": "2"},
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def deploy(policy: RunbookPolicy) -> None:
    """The policy block, the pool and both revoke deployments, on the test's server."""
    await policy.asave("default", overwrite=True)
    async with get_client() as client:
        for flow, schedule in (
            (revoke_temporary_access, None),
            (revoke_expired_access, IntervalSchedule(interval=timedelta(seconds=SWEEP_SECONDS))),
        ):
            await deploy_as_shipped(
                client, flow, POOL, schedules=[] if schedule is None else [_schedule(schedule)]
            )


def _schedule(schedule: IntervalSchedule):
    from prefect.client.schemas.actions import DeploymentScheduleCreate

    return DeploymentScheduleCreate(schedule=schedule, active=True)


def kill(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)


async def test_server_and_worker_killed_then_restarted_still_revoke(
    arize, runbook_policy, tmp_path: Path, prefect_template: Path
):
    server = PrefectServer(tmp_path / "prefect")
    # Surviving a restart is the subject, not a first start: a migrated copy to start on.
    seed_database(prefect_template, server.home)
    os.environ.update(SERVER_ENV)
    worker = None
    try:
        await asyncio.to_thread(server.start)
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            await deploy(runbook_policy)
            worker = start_worker(server, tmp_path / "worker.log")
            async with get_client() as client:
                await until(lambda: _has_worker(client), within=120)
            # The worker dies hard first, so nothing can run the revoke before the server dies,
            # however long the grant takes on a loaded machine (once, under load, the grant and
            # the kills outlasted a 25 s grant, and the test could not say what it tested).
            kill(worker)

            outcome = await grant(spec(duration=25))
            assert outcome.result is GrantResult.GRANTED, outcome.message
            async with get_client() as client:
                record = await read_grant(client, outcome.grant_id)
                scheduled = await client.read_flow_runs(
                    deployment_filter=DeploymentFilter(
                        name=DeploymentFilterName(any_=["revoke-temporary-access"])
                    )
                )
            assert [r.parameters for r in scheduled] == [{"grant_id": record.id}]
            assert scheduled[0].state is not None and scheduled[0].state.is_scheduled()

            # The server dies hard with the revoke scheduled and not yet run.
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(timeout=30)
            server.process = None
            still = await binding_of(arize, "sam@acme.example", record.resource_id, "PROJECT")
            assert still is not None

            await until(lambda: _after(record.expires_at), within=60)
            await asyncio.to_thread(server.start)
            worker = start_worker(server, tmp_path / "worker.log")
            restarted = datetime.now(UTC)

            async def revoked() -> bool:
                return await binding_of(
                    arize, "sam@acme.example", record.resource_id, "PROJECT"
                ) is None

            # The sweeper's interval, plus a flow run's start-up on a busy two-core machine.
            await until(revoked, within=SWEEP_SECONDS + 170)
            took = (datetime.now(UTC) - restarted).total_seconds()
            async with get_client() as client:
                ended = await read_grant(client, record.id)
            assert ended.end is not None and ended.end.reason == "expired"
            print(f"revoked {took:.1f}s after the restart, by {ended.end.by}")
    finally:
        kill(worker)
        server.stop()
        for key in SERVER_ENV:
            os.environ.pop(key, None)


async def _after(moment: datetime) -> bool:
    return datetime.now(UTC) >= moment


async def _has_worker(client: PrefectClient) -> bool:
    return bool(await client.read_workers_for_work_pool(POOL))
