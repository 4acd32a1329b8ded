"""Both inbox backends, and the webhook service as a real separate process.

``inbox_url`` is parametrised: every test using it runs once on a SQLite file and once on
a fresh PostgreSQL database (``postgres_url``: skipped, or failed under REQUIRE_SERVICES=1,
when PostgreSQL is not there). Test modules import the fixture by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from tests.fixtures.services import postgres_dsn
from tests.fixtures.webhooks import (
    BAMBOOHR_SECRET,
    GENERIC_SECRET,
    JIRA_SECRET,
    OKTA_SECRET,
    ROUTING_EXAMPLE,
    SERVICENOW_TOKEN,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def inbox_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty inbox URL on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    return request.getfixturevalue("postgres_url")


def database_of(url: str) -> str:
    """The database name of a ``postgresql+asyncpg://`` URL."""
    return url.rsplit("/", 1)[1]


async def pg_admin(sql: str, *args: Any) -> Any:
    """Run ``sql`` on the maintenance database (terminate backends, refuse connections)."""
    conn = await asyncpg.connect(postgres_dsn("postgres"))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def terminate_backends(database: str) -> int:
    """End every session connected to ``database``; returns how many were ended."""
    rows = await pg_admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        database,
    )
    return len(rows)


async def allow_connections(database: str, allowed: bool) -> None:
    """Let ``database`` accept new sessions, or refuse them (PostgreSQL "down" for it)."""
    await pg_admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
    if not allowed:
        await terminate_backends(database)


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServiceProcess:
    """``arize-runbooks serve`` in a subprocess of its own, as shipped (uvicorn's access log
    included), configured through the environment as an operator's env file would.

    Args:
        inbox_url: The inbox.
        prefect_api_url: The Prefect API the forwarder uses.
        log: File the process writes its output to (read it when a test fails).
        **settings: More ``ARIZE_RUNBOOKS_*`` settings, by field name.
    """

    def __init__(self, *, inbox_url: str, prefect_api_url: str, log: Path, **settings: Any) -> None:
        self.port = free_port()
        self.log = log
        values = {
            "environment": "test",
            "okta_secret": OKTA_SECRET,
            "bamboohr_secret": BAMBOOHR_SECRET,
            "jira_secret": JIRA_SECRET,
            "servicenow_token": SERVICENOW_TOKEN,
            "generic_secret": GENERIC_SECRET,
            "inbox_url": inbox_url,
            "prefect_api_url": prefect_api_url,
            "routing_config": str(ROUTING_EXAMPLE),
            "forwarder_poll_seconds": 0.5,
            "forwarder_backoff_base": 0.2,
            "forwarder_backoff_max": 1.0,
            "slack_expiry_sweep_seconds": 0,
            **settings,
        }
        self.env = os.environ | {
            f"ARIZE_RUNBOOKS_{k.upper()}": str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in values.items()
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Self:
        """Start and wait until ``/healthz`` answers."""
        command = [
            sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1",
            "--port", str(self.port),
        ]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"service did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, claims left held, nothing flushed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class TcpProxy:
    """A loopback TCP relay: "Prefect is back" is this proxy starting to listen."""

    def __init__(self, listen_port: int, target: tuple[str, int]) -> None:
        self.listen_port = listen_port
        self.target = target
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.listen_port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for pipe in self._pipes:
                pipe.cancel()
            await asyncio.gather(*self._pipes, return_exceptions=True)
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        tasks = [
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]
        self._pipes.update(tasks)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


def prefect_outage(prefect_api_url: str) -> tuple[str, TcpProxy]:
    """A Prefect API URL that is down until ``proxy.start()`` (then it relays to the real one)."""
    parts = urlsplit(prefect_api_url)
    proxy = TcpProxy(free_port(), (parts.hostname or "127.0.0.1", parts.port or 80))
    return f"http://127.0.0.1:{proxy.listen_port}{parts.path}", proxy
