"""Prefect in its HA shape for the tests: an own redis-server, a fresh PostgreSQL database,
two API servers, a services process and two workers, with the runbooks deployed.

One stack serves the whole session (it takes about 30 s to start): the tests that use it
form the xdist scope ``ha`` (tests/conftest.py), so they run one after another on one worker,
and each leaves the stack whole (a test that stops Redis starts it again, one that kills a
worker starts a replacement). Redis is a redis-server of the stack's own on a free port: a
test may stop it, which the machine's shared Redis must never be.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.settings import PREFECT_API_URL, temporary_settings

from blocks.arize import ArizeCredentials
from blocks.key_store import ArizeKeyStore
from blocks.policy import RunbookPolicy
from core.approvals.rules import ApprovalPolicy
from ops.ha_stack import HAOptions, PrefectHAStack, free_port
from ops.postgres import drop_database
from tests.fixtures.arize import ADMIN_KEY
from tests.fixtures.services import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    XDIST_WORKER,
    _reachable,
    unavailable,
)

# What `arize-runbooks ha up` ships (HAOptions' defaults), not a shorter window of the tests'
# own: with 2 missed heartbeats (60 s) CI (2026-12-07) crashed a live run whose new flow
# process, on a loaded machine, took 62 s from Submitting to Running, and the run was
# recovered twice instead of once. The shipped 90 s is what admins get.
_SHIPPED = {f.name: f.default for f in dataclasses.fields(HAOptions)}
HEARTBEAT_SECONDS: int = _SHIPPED["heartbeat_frequency"]
MISSED_HEARTBEATS: int = _SHIPPED["missed_heartbeats"]


class OwnRedis:
    """A redis-server on a free loopback port, without persistence; can be stopped and
    started again on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start and wait for PING."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=(self.workdir / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.1)
            finally:
                client.close()

    def stop(self) -> None:
        """Stop the server; its data (no persistence) is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


@dataclass
class HA:
    """A running HA stack and the Redis it uses."""

    stack: PrefectHAStack
    redis: OwnRedis


@contextlib.contextmanager
def start_ha_stack(tmp: Path, name: str, *, workers: int = 2) -> Iterator[HA]:
    """Start an own Redis and the HA stack on a new database; stop and drop all afterwards."""
    problem = _reachable(PG_HOST, PG_PORT)
    if problem:
        unavailable("PostgreSQL", problem)
    if shutil.which("redis-server") is None:
        unavailable("redis-server", "the binary is not installed")
    own_redis = OwnRedis(tmp / "redis")
    own_redis.start()
    server_dsn = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}"
    database = f"arb_ha_{name}_{XDIST_WORKER}_{uuid.uuid4().hex[:8]}"
    options = HAOptions(
        server_dsn=server_dsn,
        database=database,
        redis_url=own_redis.url,
        workers=workers,
        heartbeat_frequency=HEARTBEAT_SECONDS,
        missed_heartbeats=MISSED_HEARTBEATS,
        worker_poll_seconds=2,
    )
    try:
        with PrefectHAStack(options, tmp / "stack") as stack:
            yield HA(stack, own_redis)
    finally:
        own_redis.stop()
        asyncio.run(drop_database(server_dsn, database))


@pytest.fixture(scope="session")
def ha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HA]:
    """The session's HA stack, with its own Redis and database."""
    with start_ha_stack(tmp_path_factory.mktemp("ha"), "t") as started:
        yield started


async def save_policy(api_url: str, arize_base_url: str) -> None:
    """The "default" runbook policy on the HA API, acting on the Arize emulator."""
    with temporary_settings({PREFECT_API_URL: api_url}):
        await RunbookPolicy(
            credentials=ArizeCredentials(api_key=ADMIN_KEY, base_url=arize_base_url),
            key_store=ArizeKeyStore(prefix=f"ha-{uuid.uuid4().hex[:8]}"),
            approval=ApprovalPolicy(timeout_seconds=60, approver_emails=["approver@acme.example"]),
            poll_interval_seconds=1,
            rate_limit=None,
        ).asave("default", overwrite=True)


def team(name: str, members: int) -> dict:
    """An onboard-team spec: a space, a custom role, ``members`` new people, a CI key."""
    return {
        "organization": "Acme",
        "space": name,
        "roles": [{"name": f"{name} analyst", "permissions": ["PROJECT_READ"]}],
        "members": [
            {"name": f"{name} {i}", "email": f"{name}.{i:02d}@acme.example",
             "space_role": f"{name} analyst"}
            for i in range(members)
        ],
        "service_key": {"name": f"ci-{name}"},
    }


async def start_onboarding(api_url: str, spec: dict) -> FlowRun:
    """Create an onboard-team run from its deployment through ``api_url``."""
    async with PrefectClient(api_url) as client:
        deployment = await client.read_deployment_by_name("onboard-team/onboard-team")
        return await client.create_flow_run_from_deployment(
            deployment.id, parameters={"spec": spec}
        )


FINAL = {StateType.COMPLETED, StateType.FAILED, StateType.CANCELLED}


async def wait_final(api_url: str, run_ids: list, within: float) -> dict:
    """Poll until every run is COMPLETED, FAILED or CANCELLED; ``{id: FlowRun}``.

    CRASHED is not final here: crash recovery reschedules crashed runbook runs.
    """
    runs: dict = {}
    async with PrefectClient(api_url) as client, asyncio.timeout(within):
        while True:
            runs = {run_id: await client.read_flow_run(run_id) for run_id in run_ids}
            if all(r.state is not None and r.state.type in FINAL for r in runs.values()):
                return runs
            await asyncio.sleep(1)
