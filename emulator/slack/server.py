"""A threaded uvicorn server running the Slack emulator on loopback (ThreadedMotoServer-style)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from emulator.slack.app import create_app
from emulator.slack.interactions import aclick, click
from emulator.slack.state import SlackState, User, UserGroup


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        # Runs in a worker thread: signals belong to the main thread.
        pass


class SlackEmulatorServer:
    """The Slack Web API emulator on ``127.0.0.1`` and a free port, in a background thread.

    Examples:
        ```python
        with SlackEmulatorServer() as slack:
            client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
        ```
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, tokens: set[str] | None = None
    ) -> None:
        """Prepare a server; nothing listens until :meth:`start`.

        Args:
            host: Interface to bind; loopback by default.
            port: Port to bind; ``0`` picks a free one.
            tokens: Bot tokens accepted; any ``xoxb-`` token by default.
        """
        self.state = SlackState(tokens=tokens)
        self.app = create_app(self.state)
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:PORT`` (the control plane lives under it)."""
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """Web API base URL for ``AsyncWebClient(base_url=...)``; ends in ``/api/``."""
        return f"{self.url}/api/"

    def get_host_and_port(self) -> tuple[str, int]:
        """The bound address."""
        if self._server is None:
            raise RuntimeError("server not started")
        return self._host, self._port

    def start(self, timeout: float = 10.0) -> None:
        """Bind, start serving in a daemon thread and wait until it accepts requests."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off")
        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            daemon=True,
            name="slack-emulator",
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("Slack emulator did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> SlackEmulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- conveniences over the control plane (in-process; tests may also use HTTP) -----

    def reset(self) -> None:
        """Forget everything, as ``POST /_slack/reset``."""
        self.state.reset()

    def add_user(self, user_id: str, name: str, email: str | None = None, **flags: Any) -> User:
        """Add a member (``deleted``, ``is_bot``, ``is_restricted`` flags allowed)."""
        return self.state.add_user(User(id=user_id, name=name, email=email, **flags))

    def add_usergroup(self, group_id: str, handle: str, users: list[str]) -> UserGroup:
        """Add a user group with these members."""
        return self.state.add_usergroup(
            UserGroup(id=group_id, handle=handle, name=handle, users=list(users))
        )

    def messages(self) -> dict[str, Any]:
        """Posted messages and ephemerals, as ``GET /_slack/messages``."""
        return self.state.snapshot()

    def click(
        self,
        url: str,
        *,
        signing_secret: str,
        user_id: str,
        action_id: str = "approve",
        channel: str | None = None,
        ts: str | None = None,
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        """Click a button on a posted message; see :func:`emulator.slack.click`."""
        return click(
            url,
            self.state,
            signing_secret=signing_secret,
            user_id=user_id,
            action_id=action_id,
            channel=channel,
            ts=ts,
            client=client,
        )

    async def aclick(
        self,
        url: str,
        *,
        signing_secret: str,
        user_id: str,
        action_id: str = "approve",
        channel: str | None = None,
        ts: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        """Async :meth:`click`; pass ``client`` to reach an in-process ASGI app."""
        return await aclick(
            url,
            self.state,
            signing_secret=signing_secret,
            user_id=user_id,
            action_id=action_id,
            channel=channel,
            ts=ts,
            client=client,
        )
