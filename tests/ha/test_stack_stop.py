"""The HA stack stops its workers at once, not one after another: each stop can take its whole
stop time (Prefect's worker loses the interrupt of a SIGTERM, and `arize-runbooks worker`
waits that out), so in series they added up. In process: the workers are recorded stand-ins,
and nothing starts."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from ops.ha_stack import HAOptions, PrefectHAStack
from ops.processes import ManagedProcess

WORKERS = 3
#: Nothing connects to these: the stack is never entered.
OPTIONS = {"server_dsn": "postgresql://postgres@127.0.0.1:5432", "database": "arb_unused",
           "redis_url": "redis://127.0.0.1:6379/0"}


class Worker(ManagedProcess):
    """A worker whose stop returns only once every worker's stop has begun."""

    def __init__(self, index: int, all_stopping: threading.Barrier, tmp_path: Path) -> None:
        super().__init__(f"ha-worker-{index}", ["true"], {}, tmp_path)
        self.process: Any = object()  # "running"
        self.all_stopping = all_stopping
        self.stopped = False

    def stop(self, timeout: float = 20) -> None:
        # A stop made one after another would wait here for the others, which never begin.
        self.all_stopping.wait()
        self.stopped = True
        self.process = None


def test_workers_stop_at_once(tmp_path: Path) -> None:
    stack = PrefectHAStack(HAOptions(**OPTIONS, workers=WORKERS), tmp_path)
    all_stopping = threading.Barrier(WORKERS, timeout=30)
    stack.workers = [Worker(i, all_stopping, tmp_path) for i in range(WORKERS)]

    stack.stop_workers()

    assert all(isinstance(w, Worker) and w.stopped for w in stack.workers)
    assert not all_stopping.broken


def test_stopped_or_never_started_workers_are_left_alone(tmp_path: Path) -> None:
    stack = PrefectHAStack(HAOptions(**OPTIONS, workers=1), tmp_path)
    gone = Worker(0, threading.Barrier(1), tmp_path)
    gone.process = None  # killed by a test, or never started

    def refuse(timeout: float = 20) -> None:
        pytest.fail("a stopped worker was stopped again")

    gone.stop = refuse  # type: ignore[method-assign]
    stack.workers = [gone]

    stack.stop_workers()
