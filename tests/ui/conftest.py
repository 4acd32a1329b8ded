"""The Prefect deployment a person sees: a real ``prefect server start`` with basic auth on,
every runbook deployed from prefect.yaml, and a process worker running their flows.

- ``authed_prefect`` (session): the server (:class:`cli.stack.PrefectServer`) with a fresh
  ``admin:<token>`` auth string; the same one the demo's local stack starts.
- ``deployed_runbooks`` (session): the ``arize-runbooks`` process pool, ``prefect --no-prompt
  deploy --all`` and ``prefect worker start`` against it. Yields a :class:`PrefectUI`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest

from cli.stack import PrefectServer, new_auth_string
from tests.fixtures.prefect import seed_database, stop_process_worker

ROOT = Path(__file__).parents[2]
POOL = "arize-runbooks"
SERVER_SETTINGS = {
    "PREFECT_SERVER_DATABASE_TIMEOUT": "60",
    "PREFECT_SERVER_DATABASE_CONNECTION_TIMEOUT": "30",
    "PREFECT_API_LOG_RETRYABLE_ERRORS": "true",
}


@dataclass
class PrefectUI:
    """Where the UI tests point the browser and their own Prefect client.

    Attributes:
        server: The running server (``ui_url``, ``api_url``, ``client()``).
        worker_log: The worker's output, for a failing test's message.
    """

    server: PrefectServer
    worker_log: Path

    @property
    def login(self) -> str:
        """What the UI's login form takes: the whole ``admin:<token>``."""
        assert self.server.auth_string is not None
        return self.server.auth_string.get_secret_value()

    @contextlib.contextmanager
    def settings(self) -> Iterator[None]:
        """Point this task's Prefect clients (``get_client``, block saves) at the server."""
        from prefect.settings import (
            PREFECT_API_AUTH_STRING,
            PREFECT_API_URL,
            temporary_settings,
        )

        with temporary_settings(
            updates={PREFECT_API_URL: self.server.api_url, PREFECT_API_AUTH_STRING: self.login}
        ):
            yield


def client_env(server: PrefectServer) -> dict[str, str]:
    """The environment of a Prefect CLI, worker or flow subprocess talking to ``server``."""
    return {
        **os.environ,
        **server.client_env(),
        "PREFECT_HOME": str(server.home),
        "ARIZE_RUNBOOKS_HOME": str(ROOT),
    }


def prefect_cli(server: PrefectServer, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``prefect <args>`` against ``server``; fail the test with its output on error."""
    result = subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        cwd=ROOT,
        env=client_env(server),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"prefect {' '.join(args)}:\n{result.stdout[-3000:]}" + (
        result.stderr[-3000:]
    )
    return result


@pytest.fixture(scope="session")
def authed_prefect(
    tmp_path_factory: pytest.TempPathFactory, prefect_template: Path
) -> Iterator[PrefectServer]:
    """A ``prefect server start`` subprocess whose API and UI need the basic-auth string, on a
    migrated copy of Prefect's database (the UI is the subject, not a first start)."""
    server = PrefectServer(tmp_path_factory.mktemp("prefect-ui"), auth_string=new_auth_string())
    seed_database(prefect_template, server.home)
    # SQLite on a busy shared machine: wait for the database lock instead of answering 503,
    # and log the cause when a retryable error still happens.
    with mock.patch.dict(os.environ, SERVER_SETTINGS):
        server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def deployed_runbooks(
    authed_prefect: PrefectServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrefectUI]:
    """Every runbook deployed to the authenticated server, with a process worker polling."""
    prefect_cli(authed_prefect, "work-pool", "create", POOL, "--type", "process", "--overwrite")
    prefect_cli(authed_prefect, "--no-prompt", "deploy", "--all")
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    # Poll every second: a resumed run is picked up again by the worker.
    env = {**client_env(authed_prefect), "PREFECT_WORKER_QUERY_SECONDS": "1"}
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield PrefectUI(server=authed_prefect, worker_log=log_path)
    finally:
        stop_process_worker(worker)
