"""Prefect in its HA shape on one machine: API servers, a services process and workers on
PostgreSQL + Redis, with the runbooks deployed and crash recovery switched on.

Each API server is started only after the previous one is healthy: the first one migrates the
database and registers block types, and two servers doing that at once on a new database make
one of them exit. Worker ``i`` talks to API server ``i mod n``; in production a load balancer
stands in front of the API servers instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from ops.crash_recovery import ensure_crash_recovery
from ops.postgres import database_url, ensure_database
from ops.prefect_env import WORKER_QUERY_SECONDS, PrefectHA
from ops.processes import ManagedProcess

ROOT = Path(__file__).resolve().parents[1]
WORK_POOL = "arize-runbooks"
RATE_LIMIT = "arize-api"


def free_port() -> int:
    """A port nobody listens on right now, on loopback."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class HAOptions:
    """The shape of the stack.

    Attributes:
        server_dsn: ``postgresql://user@host:port``: the PostgreSQL server (its own databases
            are left alone).
        database: Name of Prefect's database on it; created when missing.
        redis_url: Redis shared by every Prefect process.
        api_servers: How many ``prefect server start --no-services`` processes.
        workers: How many process workers on the ``arize-runbooks`` pool.
        heartbeat_frequency: Flow-run heartbeat interval (s), >= 30.
        missed_heartbeats: Silent intervals before a run is marked crashed.
        worker_poll_seconds: How often workers ask for scheduled runs (also how long an
            approved, suspended run waits at most for a worker to pick it up again).
        deploy: Whether to run ``prefect deploy --all`` from the repository.
        extra_env: Added to every Prefect process (e.g. logging levels).
    """

    server_dsn: str
    database: str
    redis_url: str
    api_servers: int = 2
    workers: int = 2
    heartbeat_frequency: int = 30
    missed_heartbeats: int = 3
    worker_poll_seconds: float = WORKER_QUERY_SECONDS
    deploy: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)


class PrefectHAStack:
    """Start with ``with PrefectHAStack(options, workdir) as stack:``; everything stops on exit.

    Attributes:
        api_servers: One :class:`ManagedProcess` per API server.
        services: The background-services process.
        workers: One per worker.
    """

    def __init__(self, options: HAOptions, workdir: Path) -> None:
        if options.api_servers < 1 or options.workers < 0:
            raise ValueError("api_servers must be >= 1 and workers >= 0")
        self.options = options
        self.workdir = workdir
        self.ha = PrefectHA(
            database_url=database_url(options.server_dsn, options.database),
            redis_url=options.redis_url,
            heartbeat_frequency=options.heartbeat_frequency,
        )
        self.ports = [free_port() for _ in range(options.api_servers)]
        self.api_servers: list[ManagedProcess] = []
        self.services: ManagedProcess | None = None
        self.workers: list[ManagedProcess] = []
        self._exit = contextlib.ExitStack()

    @property
    def api_urls(self) -> list[str]:
        """Each API server's ``PREFECT_API_URL``."""
        return [f"http://127.0.0.1:{port}/api" for port in self.ports]

    def _server_env(self, api_url: str) -> dict[str, str]:
        return {
            **self.ha.server_env(),
            "PREFECT_HOME": str(self.workdir / "prefect-home"),
            "PREFECT_API_URL": api_url,
            **self.options.extra_env,
        }

    def __enter__(self) -> Self:
        try:
            asyncio.run(ensure_database(self.options.server_dsn, self.options.database))
            for index, port in enumerate(self.ports):
                self._start_api_server(index, port)
            self.services = self._started(
                ManagedProcess(
                    "prefect-services",
                    # The command docs/operations.md gives operators: Prefect's services, each
                    # started again when it dies (ops.prefect_services).
                    [sys.executable, "-m", "cli.main", "prefect-services"],
                    self._server_env(self.api_urls[0]),
                    self.workdir / "logs",
                    cwd=ROOT,
                )
            )
            self.setup()
            for index in range(self.options.workers):
                self.start_worker(index)
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_workers()
        self._exit.close()

    def stop_workers(self) -> None:
        """Stop every worker at once. Each stop can take its whole stop time: a held gate
        suspends first, and Prefect's worker often loses the interrupt its SIGTERM becomes,
        which ``arize-runbooks worker`` waits out for 5 s before it kills the worker (the HA
        tests' worker logs show it at nearly every stop). One after another, those added up."""
        running = [worker for worker in self.workers if worker.process is not None]
        if running:
            with ThreadPoolExecutor(max_workers=len(running)) as pool:
                list(pool.map(lambda worker: worker.stop(), running))

    def _started(self, process: ManagedProcess) -> ManagedProcess:
        process.start()
        self._exit.callback(process.stop)
        process.wait_healthy()
        return process

    def _start_api_server(self, index: int, port: int) -> None:
        api_url = self.api_urls[index]
        self.api_servers.append(
            self._started(
                ManagedProcess(
                    f"prefect-api-{index + 1}",
                    [sys.executable, "-m", "prefect", "server", "start", "--no-services",
                     "--host", "127.0.0.1", "--port", str(port)],
                    self._server_env(api_url),
                    self.workdir / "logs",
                    health_url=f"{api_url}/health",
                )
            )
        )

    def start_worker(self, index: int) -> ManagedProcess:
        """Start worker ``index`` (named ``ha-worker-<index+1>``) against API server i mod n."""
        api_url = self.api_urls[index % len(self.api_urls)]
        worker = ManagedProcess(
            f"ha-worker-{index + 1}",
            # The command docs/operations.md gives operators (it loads the env file and the
            # worker settings, and stops cleanly on SIGTERM), so what is tested is what they run.
            [sys.executable, "-m", "cli.main", "worker", "--pool", WORK_POOL,
             "--name", f"ha-worker-{index + 1}"],
            {
                **self.ha.worker_env(api_url),
                "PREFECT_HOME": str(self.workdir / "prefect-home"),
                "PREFECT_WORKER_QUERY_SECONDS": str(self.options.worker_poll_seconds),
                "ARIZE_RUNBOOKS_HOME": str(ROOT),
                **self.options.extra_env,
            },
            self.workdir / "logs",
            cwd=ROOT,
        )
        self.workers.append(self._started(worker))
        return worker

    def setup(self) -> None:
        """Work pool, Arize rate limit, deployments and crash recovery: each safe to repeat."""
        api_url = self.api_urls[0]
        asyncio.run(self._setup_api(api_url))
        if self.options.deploy:
            deploy(api_url)

    async def _setup_api(self, api_url: str) -> None:
        from prefect.client.orchestration import PrefectClient
        from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, WorkPoolCreate
        from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

        async with PrefectClient(api_url) as client:
            with contextlib.suppress(ObjectAlreadyExists):
                await client.create_work_pool(WorkPoolCreate(name=WORK_POOL, type="process"))
            try:
                await client.read_global_concurrency_limit_by_name(RATE_LIMIT)
            except ObjectNotFound:
                # The policy's default Arize rate limit: 10 requests per second across runs.
                await client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(
                        name=RATE_LIMIT, limit=10, slot_decay_per_second=10
                    )
                )
            await ensure_crash_recovery(
                client,
                heartbeat_frequency=self.options.heartbeat_frequency,
                missed_heartbeats=self.options.missed_heartbeats,
            )


def deploy(api_url: str) -> None:
    """``prefect --no-prompt deploy --all`` from the repository (prefect.yaml) to ``api_url``."""
    import os

    result = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        cwd=ROOT,
        env={**os.environ, "PREFECT_API_URL": api_url, "ARIZE_RUNBOOKS_HOME": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(
            "prefect deploy --all failed:\n" + result.stdout[-2000:] + result.stderr[-2000:]
        )
