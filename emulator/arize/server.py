"""``ArizeEmulatorServer``: the emulator on loopback in a background thread.

A uvicorn ``Server`` subclass that never installs signal handlers (httpx's ``TestServer``);
``start()`` binds 127.0.0.1 (port 0 = a free port), waits for ``started``, and ``stop()``
sets ``should_exit`` and joins the thread (moto's ``ThreadedMotoServer``).
"""

from __future__ import annotations

from typing import Any

import httpx

from emulator.arize.app import create_app
from emulator.arize.faults import FaultConfig
from emulator.threaded_server import ThreadedServer

__all__ = ["ArizeEmulatorServer"]


class ArizeEmulatorServer(ThreadedServer):
    """Run the Arize emulator in a thread.

    Args:
        host: Interface to bind (loopback by default; never a wildcard in tests).
        port: Port to bind; 0 picks a free one.
        seed: ``"demo"``, ``"empty"`` or a scale seed (``"scale:users=500,bindings=2000"``).
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
        super().__init__(
            create_app(seed=seed, admin_key=admin_key, db_path=db_path, faults=faults),
            host=host,
            port=port,
            name="arize-emulator",
            log_level=log_level,
            lifespan="off",
            timeout_keep_alive=30,
        )

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
        return self.url

    def get_host_and_port(self) -> tuple[str, int]:
        """Return the bound host and port."""
        return self.host, self.port

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
