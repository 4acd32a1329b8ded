"""Webhook service replicas on one PostgreSQL inbox: migrated once, then started one by one."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from ops.ha_stack import ROOT, free_port
from ops.processes import ManagedProcess


class WebhookReplicas:
    """``arize-runbooks serve`` ``count`` times on free ports, sharing ``inbox_url``.

    Replica ``i`` creates its flow runs through ``api_urls[i mod n]``.

    Args:
        inbox_url: ``postgresql+asyncpg://…`` of the shared inbox.
        api_urls: Prefect API URLs.
        workdir: Logs go to ``workdir/logs``.
        env: Extra environment (``ARIZE_RUNBOOKS_*`` secrets and settings).
        count: How many replicas.
        routing_config: Routing YAML handed to every replica.
    """

    def __init__(
        self,
        inbox_url: str,
        api_urls: list[str],
        workdir: Path,
        env: Mapping[str, str],
        count: int = 2,
        routing_config: Path | None = None,
    ) -> None:
        self.inbox_url = inbox_url
        self.api_urls = api_urls
        self.workdir = workdir
        self.env = dict(env)
        self.routing_config = routing_config
        self.ports = [free_port() for _ in range(count)]
        self.replicas: list[ManagedProcess] = []
        self._exit = contextlib.ExitStack()

    @property
    def urls(self) -> list[str]:
        """Base URL of each replica."""
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def __enter__(self) -> Self:
        try:
            self._migrate()
            for index, port in enumerate(self.ports):
                argv = [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1",
                        "--port", str(port), "--inbox-url", self.inbox_url,
                        "--prefect-api-url", self.api_urls[index % len(self.api_urls)]]
                if self.routing_config is not None:
                    argv += ["--config", str(self.routing_config)]
                replica = ManagedProcess(
                    f"webhooks-{index + 1}", argv, self.env, self.workdir / "logs",
                    health_url=f"{self.urls[index]}/health", cwd=ROOT,
                )
                replica.start()
                self._exit.callback(replica.stop)
                replica.wait_healthy()
                self.replicas.append(replica)
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
        self._exit.close()

    def _migrate(self) -> None:
        # One migration before any replica starts, so replicas never race on the schema.
        result = subprocess.run(
            [sys.executable, "-m", "cli.main", "inbox", "migrate", "--inbox-url", self.inbox_url],
            cwd=ROOT,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"inbox migrate failed:\n{result.stdout}{result.stderr}"[-3000:])
