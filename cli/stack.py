"""Everything the demo runs on one machine: the two emulators, a Prefect server, the webhook
service. All bind 127.0.0.1 on free ports and stop with the context manager.

The Prefect API is protected by basic auth (``PREFECT_SERVER_API_AUTH_STRING``) with a fresh
``admin:<token>`` per run: whoever holds it administers the system, so it is handed only to
the clients the stack starts (environment of this process and of its subprocesses), written
to a 0600 file for a person who wants the UI, and never printed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from pydantic import SecretStr

from core.service_key import ENV_VAR as SERVICE_KEY_ENV
from emulator.arize import ArizeEmulatorServer
from emulator.slack import SlackEmulatorServer
from emulator.threaded_server import ThreadedServer
from ops.processes import answers_healthy
from tasks.reporting.evidence import SERVICE_URL_ENV as EVIDENCE_URL_ENV

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient

APPROVER_ID = "U0APPROVER"
APPROVER_EMAIL = "alex.approver@acme.example"
PREFECT_ADMIN_USER = "admin"


def new_auth_string() -> SecretStr:
    """A fresh ``admin:<token>`` for ``PREFECT_SERVER_API_AUTH_STRING``."""
    return SecretStr(f"{PREFECT_ADMIN_USER}:{secrets.token_urlsafe(24)}")


def free_port() -> int:
    """A port nobody listens on right now, on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrefectServer:
    """``prefect server start`` in a subprocess with its own PREFECT_HOME (SQLite inside).

    With ``auth_string`` the server refuses every API request without the matching
    ``Authorization: Basic`` header (health and readiness probes excepted), and its UI asks
    for the string on a login form.
    """

    def __init__(self, home: Path, auth_string: SecretStr | None = None) -> None:
        self.home = home
        self.port = free_port()
        self.auth_string = auth_string
        self.process: subprocess.Popen[bytes] | None = None

    def client_env(self) -> dict[str, str]:
        """What a Prefect client (worker, CLI, flow subprocess) needs to reach this server."""
        env = {"PREFECT_API_URL": self.api_url}
        if self.auth_string is not None:
            env["PREFECT_API_AUTH_STRING"] = self.auth_string.get_secret_value()
        return env

    def client(self) -> PrefectClient:
        """A Prefect client for this server, authenticated when auth is on."""
        from prefect.client.orchestration import PrefectClient

        auth = self.auth_string.get_secret_value() if self.auth_string else None
        return PrefectClient(self.api_url, auth_string=auth)

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
            **self.client_env(),
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        if self.auth_string is not None:
            env["PREFECT_SERVER_API_AUTH_STRING"] = self.auth_string.get_secret_value()
        log = (self.home / "server.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(self.port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process = self.process

        def alive() -> None:
            if process.poll() is not None:
                raise RuntimeError(f"prefect server exited; see {self.home / 'server.log'}")

        # /api/health answers without credentials even when auth is on.
        if answers_healthy(f"{self.api_url}/health", within=timeout, alive=alive, timeout=2):
            return
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
        self.prefect = PrefectServer(workdir / "prefect", auth_string=new_auth_string())
        self.webhooks: ThreadedServer | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Self:
        # The webhook service signs triggers and Slack votes; the flows (in this process) check
        # them. One key for both, made up per demo unless the environment has one.
        os.environ.setdefault(SERVICE_KEY_ENV, secrets.token_hex(32))
        try:
            self.arize.start()
            self._stack.callback(self.arize.stop)
            self.slack.start()
            self._stack.callback(self.slack.stop)
            self.slack.add_user(APPROVER_ID, "Alex Approver", email=APPROVER_EMAIL)
            self.prefect.start()
            self._stack.callback(self.prefect.stop)
            self._stack.enter_context(prefect_client_environment(self.prefect.client_env()))
            self._write_auth_file()
            self.webhooks = ThreadedServer(self._webhook_app(), name="webhooks", lifespan="on")
            self.webhooks.start()
            self._stack.callback(self.webhooks.stop)
            # The demo's runs keep evidence as deployment runs do: in this service's chain.
            self._stack.enter_context(_environment({EVIDENCE_URL_ENV: self.webhooks.url}))
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
                # None: Prefect's own settings, which carry the API URL and the auth string.
                prefect_api_url=None,
                inbox_url=f"sqlite+aiosqlite:///{self.workdir / 'inbox.db'}",
            )
        )

    @property
    def auth_file(self) -> Path:
        """The 0600 file holding the Prefect UI's login (``admin:<token>``)."""
        return self.workdir / "prefect-auth"

    @property
    def prefect_auth_note(self) -> str:
        """What to tell a person about the UI login, without the secret itself."""
        return f"basic auth on; log in with the contents of {self.auth_file}"

    def _write_auth_file(self) -> None:
        assert self.prefect.auth_string is not None
        fd = os.open(self.auth_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self.prefect.auth_string.get_secret_value())

    @property
    def interactions_url(self) -> str:
        """Where Slack button clicks go."""
        assert self.webhooks is not None
        return f"{self.webhooks.url}/slack/interactions"


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` in this process's environment for the stack's life, then as they were."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def prefect_client_environment(env: dict[str, str]) -> Iterator[None]:
    """Point this process's Prefect clients (every thread) and its subprocesses at ``env``.

    Prefect reads the environment once into a process-global settings context; threads such
    as the webhook service's see only that one, so it is rebuilt from ``env`` here. On exit the
    previous context object comes back as it was (a test harness may have installed its own).
    """
    import prefect.context
    from prefect.context import refresh_global_settings_context

    previous_context = prefect.context.GLOBAL_SETTINGS_CONTEXT
    with _environment(env):
        refresh_global_settings_context()
        try:
            yield
        finally:
            prefect.context.GLOBAL_SETTINGS_CONTEXT = previous_context
