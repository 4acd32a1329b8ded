"""Everything the demo runs on one machine: the two emulators, a Prefect server, the webhook
service. All bind 127.0.0.1 on free ports and stop with the context manager.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from emulator.arize import ArizeEmulatorServer
from emulator.slack import SlackEmulatorServer
from emulator.threaded_server import ThreadedServer

APPROVER_ID = "U0APPROVER"
APPROVER_EMAIL = "alex.approver@acme.example"


def free_port() -> int:
    """A port nobody listens on right now, on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrefectServer:
    """``prefect server start`` in a subprocess with its own PREFECT_HOME (SQLite inside)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        """The server's API URL, for PREFECT_API_URL."""
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        """Where a person opens the Prefect UI."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        """Start the server and wait until ``/api/health`` answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_API_URL": self.api_url,
        }
        log = (self.home / "server.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(self.port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prefect server exited; see {self.home / 'server.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"prefect server not healthy within {timeout}s")

    def stop(self) -> None:
        """Terminate, then kill if it does not exit."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


class LocalStack:
    """Arize and Slack emulators, a Prefect server and the webhook service on loopback."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.signing_secret = secrets.token_hex(16)
        self.bot_token = f"xoxb-demo-{secrets.token_hex(8)}"
        self.arize = ArizeEmulatorServer(seed="demo")
        self.slack = SlackEmulatorServer()
        self.prefect = PrefectServer(workdir / "prefect")
        self.webhooks: ThreadedServer | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Self:
        try:
            self.arize.start()
            self._stack.callback(self.arize.stop)
            self.slack.start()
            self._stack.callback(self.slack.stop)
            self.slack.add_user(APPROVER_ID, "Alex Approver", email=APPROVER_EMAIL)
            self.prefect.start()
            self._stack.callback(self.prefect.stop)
            self.webhooks = ThreadedServer(self._webhook_app(), name="webhooks", lifespan="on")
            self.webhooks.start()
            self._stack.callback(self.webhooks.stop)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    def _webhook_app(self) -> object:
        from webhooks.app import create_app
        from webhooks.settings import Settings

        return create_app(
            Settings(
                environment="development",
                slack_signing_secret=self.signing_secret,
                slack_bot_token=self.bot_token,
                slack_base_url=self.slack.base_url,
                prefect_api_url=self.prefect.api_url,
                inbox_url=f"sqlite+aiosqlite:///{self.workdir / 'inbox.db'}",
            )
        )

    @property
    def interactions_url(self) -> str:
        """Where Slack button clicks go."""
        assert self.webhooks is not None
        return f"{self.webhooks.url}/slack/interactions"
