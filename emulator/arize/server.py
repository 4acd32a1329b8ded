"""``ArizeEmulatorServer``: the emulator on loopback in a background thread.

A uvicorn ``Server`` subclass that never installs signal handlers (httpx's ``TestServer``);
``start()`` binds 127.0.0.1 (port 0 = a free port), waits for ``started``, and ``stop()``
sets ``should_exit`` and joins the thread (moto's ``ThreadedMotoServer``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Generator
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from emulator.arize.app import create_app
from emulator.arize.faults import FaultConfig

__all__ = ["ArizeEmulatorServer"]


class _ThreadedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class ArizeEmulatorServer:
    """Run the Arize emulator in a thread.

    Args:
        host: Interface to bind (loopback by default; never a wildcard in tests).
        port: Port to bind; 0 picks a free one.
        seed: ``"demo"`` or ``"empty"``.
        admin_key: The account admin's key; generated when None.
        db_path: SQLite file for persistence; in memory when None.
        faults: Faults to inject from the start.
        log_level: uvicorn's log level.

    Examples:
        >>> with ArizeEmulatorServer(admin_key="ak-test") as server:  # doctest: +SKIP
        ...     httpx.get(f"{server.base_url}/v2/users",
        ...               headers={"Authorization": f"Bearer {server.admin_key}"})
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: str = "demo",
        admin_key: str | None = None,
        db_path: str | None = None,
        faults: FaultConfig | None = None,
        log_level: str = "warning",
    ) -> None:
        self.host = host
        self.port = port
        self.app = create_app(seed=seed, admin_key=admin_key, db_path=db_path, faults=faults)
        self._log_level = log_level
        self._server: _ThreadedServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def admin_key(self) -> str:
        """The account admin's current API key value."""
        return self.app.state.emulator.admin_key

    @property
    def emulator(self) -> Any:
        """The in-process runtime (account, faults, journal) for direct inspection."""
        return self.app.state.emulator

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    def get_host_and_port(self) -> tuple[str, int]:
        """Return the bound host and port."""
        return self.host, self.port

    def start(self, timeout: float = 10.0) -> ArizeEmulatorServer:
        """Bind, serve in a daemon thread and wait until uvicorn reports ``started``."""
        if self._thread is not None:
            return self
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
        # proto says TCP, and without it every response waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level=self._log_level,
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
        )
        self._server = _ThreadedServer(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            daemon=True,
            name=f"arize-emulator-{self.port}",
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("Arize emulator failed to start")
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

    def reset(self, seed: str = "demo", admin_key: str | None = None) -> str:
        """Reset through the control plane (as tests do); returns the admin key."""
        response = httpx.post(
            f"{self.base_url}/_emulator/reset",
            json={"seed": seed, "admin_key": admin_key},
            timeout=10,
            trust_env=False,
        )
        response.raise_for_status()
        return response.json()["admin_key"]

    def __enter__(self) -> ArizeEmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
