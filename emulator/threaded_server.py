"""Run an ASGI app with uvicorn in a background thread on loopback (httpx's ``TestServer``,
moto's ``ThreadedMotoServer``). The emulators, the demo's webhook service and the tests use it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self

import uvicorn

__all__ = ["ThreadedServer"]


class _QuietServer(uvicorn.Server):
    """Signals belong to the main thread; the owner stops this server."""

    def install_signal_handlers(self) -> None:
        """Older uvicorn: install nothing."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Newer uvicorn: capture nothing."""
        yield


class ThreadedServer:
    """An ASGI app served on ``host`` (loopback) and a free port, in a daemon thread.

    Args:
        app: The ASGI application.
        host: Interface to bind; never a wildcard.
        port: Port to bind; 0 lets the OS choose.
        name: Thread name, for debugging.
        **config: More ``uvicorn.Config`` options (``lifespan``, ``log_level``, …).
    """

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, name: str = "asgi",
        **config: Any,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.name = name
        self._config = {"log_level": "warning", "access_log": False, **config}
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> Self:
        """Bind, serve in the thread, and return once uvicorn reports ``started``."""
        if self._thread is not None:
            return self
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets whose proto says
        # TCP, and without it every response waits ~40 ms for the client's delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._server = _QuietServer(uvicorn.Config(self.app, **self._config))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
            name=f"{self.name}-{self.port}",
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} server failed to start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
