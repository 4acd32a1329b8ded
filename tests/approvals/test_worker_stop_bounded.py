"""Stopping a worker does not wait on a Prefect API that cannot answer: which of its flow runs are
held is one request, not retried (a loaded SQLite server answers 503 "database is locked", and
Prefect's client would retry that with backoff for longer than any stop may take)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psutil
import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from ops.worker_stop import ENGINE_MODULE, FLOW_RUN_ID_VARIABLE, held_processes, suspend_held_runs


class _Overloaded(BaseHTTPRequestHandler):
    """Answers every request 503, as a locked SQLite Prefect server does, and counts them."""

    requests: list[str] = []

    def _refuse(self) -> None:
        type(self).requests.append(f"{self.command} {self.path}")
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b'{"exception_message": "Service Unavailable"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = _refuse

    def log_message(self, *_args: object) -> None:  # quiet
        pass


@pytest.fixture
def overloaded_api() -> Iterator[str]:
    _Overloaded.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Overloaded)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def worker_with_a_flow_run() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A stand-in worker process with one flow-run process beneath it (the command line and
    environment by which ops.worker_stop finds flow-run processes)."""
    run_id = str(uuid.uuid4())
    flow_run = [sys.executable, "-c", "import time; time.sleep(120)", ENGINE_MODULE]
    worker = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys, time; subprocess.Popen(sys.argv[1:]); time.sleep(120)",
         *flow_run],
        env={**os.environ, FLOW_RUN_ID_VARIABLE: run_id},
    )  # fmt: skip
    try:
        yield worker.pid, worker
    finally:
        for child in psutil.Process(worker.pid).children(recursive=True):
            child.kill()
        worker.kill()
        worker.wait()


def _has_flow_run_child(pid: int) -> bool:
    return any(
        ENGINE_MODULE in child.cmdline()
        for child in psutil.Process(pid).children(recursive=True)
    )


def _until_flow_run_child(pid: int) -> None:
    """Until the stand-in worker has started its flow-run process (a process start, polled)."""
    for _ in range(1_000):
        if _has_flow_run_child(pid):
            return
        time.sleep(0.02)
    pytest.fail("the stand-in flow-run process never started")


def test_an_api_answering_503_is_asked_once_and_nothing_is_signalled(
    overloaded_api: str, worker_with_a_flow_run: tuple[int, subprocess.Popen[bytes]]
) -> None:
    pid, _ = worker_with_a_flow_run
    _until_flow_run_child(pid)

    with temporary_settings({PREFECT_API_URL: overloaded_api}):
        assert held_processes(pid, timeout=5.0) == {}
        # One request, refused, not retried (the client's first is its CSRF token's, for the
        # POST that reads the runs; the 503 ends the read there).
        assert len(_Overloaded.requests) == 1, _Overloaded.requests
        assert suspend_held_runs(pid, timeout=5.0) == []
    assert len(_Overloaded.requests) == 2
    # Nothing was signalled: the flow-run process is still there.
    assert _has_flow_run_child(pid)
