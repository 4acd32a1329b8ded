"""Stopping a worker ends within the stop's time, whatever Prefect does.

- Which of its flow runs are held is one filtered request, retried on 503 within half the
  stop's time: a loaded SQLite Prefect server answers 503 ("database is locked") for a while,
  and Prefect's client would retry that with backoff for about two minutes, then raise in the
  worker's SIGTERM handler.
- A worker whose interrupt was lost (seen: Prefect's worker polling on two minutes after
  SIGTERM, no flow-run process beneath it) is killed once it has no flow-run process; one with
  flow-run processes is waited for.

The workers here are stand-ins that ignore SIGTERM, as the worker that lost its interrupt did."""

from __future__ import annotations

import contextlib
import json
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
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.settings import PREFECT_API_URL, temporary_settings

from ops.worker_stop import (
    ENGINE_MODULE,
    FLOW_RUN_ID_VARIABLE,
    flow_run_processes,
    held_processes,
    stop_worker,
    suspend_held_runs,
)

FILTER = "/api/flow_runs/filter"


class _Overloaded(BaseHTTPRequestHandler):
    """Answers the flow-run filter 503 ``refusals`` times (a locked SQLite Prefect server),
    then with ``runs``; counts the filter requests. It has no CSRF token endpoint (404), which
    tells Prefect's client to send none."""

    refusals: int = 0
    runs: list[FlowRun] = []
    reads: int = 0

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        cls = type(self)
        if self.path.startswith(FILTER):
            cls.reads += 1
        if not self.path.startswith(FILTER):
            status, body = 404, b'{"detail": "Not Found"}'
        elif cls.reads > cls.refusals:
            status = 200
            body = json.dumps([json.loads(run.model_dump_json()) for run in cls.runs]).encode()
        else:
            status, body = 503, b'{"exception_message": "Service Unavailable"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, *_args: object) -> None:  # quiet
        pass


@pytest.fixture
def overloaded_api() -> Iterator[type[_Overloaded]]:
    _Overloaded.refusals, _Overloaded.runs, _Overloaded.reads = 0, [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Overloaded)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with temporary_settings(
            {PREFECT_API_URL: f"http://127.0.0.1:{server.server_address[1]}/api"}
        ):
            yield _Overloaded
    finally:
        server.shutdown()
        server.server_close()


#: A stand-in worker that ignores SIGTERM, with one flow-run process beneath it (the command
#: line and environment by which ops.worker_stop finds flow-run processes) that does not. It
#: reaps its flow-run process, so a signalled one is gone rather than a zombie.
STAND_IN_WORKER = (
    "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "flow_run = subprocess.Popen(sys.argv[1:], preexec_fn=lambda: signal.signal("
    "signal.SIGTERM, signal.SIG_DFL)); flow_run.wait(); time.sleep(120)"
)


@pytest.fixture
def worker_with_a_flow_run() -> Iterator[tuple[int, uuid.UUID]]:
    """A stand-in worker process (see STAND_IN_WORKER) and the id of its flow run."""
    run_id = uuid.uuid4()
    flow_run = [sys.executable, "-c", "import time; time.sleep(120)", ENGINE_MODULE]
    worker = subprocess.Popen(
        [sys.executable, "-c", STAND_IN_WORKER, *flow_run],
        env={**os.environ, FLOW_RUN_ID_VARIABLE: str(run_id)},
    )
    try:
        _until_flow_run_child(worker.pid)
        yield worker.pid, run_id
    finally:
        _kill_with_children(worker)


def _kill_with_children(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL a stand-in worker and whatever it started; reap it."""
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(worker.pid).children(recursive=True):
            child.kill()
    worker.kill()
    worker.wait()


def _has_flow_run_child(pid: int) -> bool:
    found = False
    for child in psutil.Process(pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            found = found or ENGINE_MODULE in child.cmdline()
    return found


def _until_flow_run_child(pid: int) -> None:
    """Until the stand-in worker has started its flow-run process (a process start, polled)."""
    for _ in range(1_000):
        if _has_flow_run_child(pid):
            return
        time.sleep(0.02)
    pytest.fail("the stand-in flow-run process never started")


def _run(run_id: uuid.UUID, state: StateType, name: str) -> FlowRun:
    return FlowRun(id=run_id, flow_id=uuid.uuid4(), state=State(type=state, name=name))


def test_each_flow_run_process_is_found_by_its_own_run_not_by_coming_first() -> None:
    """Two flow-run processes under one worker, the previous run's (still exiting) started
    first: each run id finds its own, and a run with no process finds none."""
    previous, current = uuid.uuid4(), uuid.uuid4()
    starts_both = (
        "import os, subprocess, sys, time\n"
        "for run_id in sys.argv[1:]:\n"
        f"    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', "
        f"'{ENGINE_MODULE}'], env={{**os.environ, '{FLOW_RUN_ID_VARIABLE}': run_id}})\n"
        "time.sleep(120)\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", starts_both, str(previous), str(current)])
    try:
        parent = psutil.Process(worker.pid)
        for _ in range(1_000):  # two process starts, polled
            if len(parent.children()) == 2:
                break
            time.sleep(0.02)
        by_run = {
            uuid.UUID(child.environ()[FLOW_RUN_ID_VARIABLE]): child.pid
            for child in parent.children()
        }
        assert set(by_run) == {previous, current}

        found = flow_run_processes(worker.pid)

        assert {run_id: process.pid for run_id, process in found.items()} == by_run
        assert uuid.uuid4() not in found
    finally:
        _kill_with_children(worker)


def test_an_api_that_keeps_answering_503_gives_up_within_the_time_and_signals_nothing(
    overloaded_api: type[_Overloaded], worker_with_a_flow_run: tuple[int, uuid.UUID]
) -> None:
    pid, run_id = worker_with_a_flow_run
    overloaded_api.refusals = 10**6
    overloaded_api.runs = [_run(run_id, StateType.PAUSED, "Paused")]

    # Prefect's client waits 2 s after a 503 even with no retries left, so 6 s is room for
    # two or three reads.
    assert held_processes(pid, timeout=6.0) == {}
    # Retried, not given up on the first 503 ...
    assert overloaded_api.reads > 1
    # ... and not for ever (the client alone would retry for about two minutes): the read
    # returned, so the stop can go on to the worker.
    reads = overloaded_api.reads
    assert suspend_held_runs(pid, timeout=6.0) == []
    assert overloaded_api.reads > reads
    # Nothing was signalled: the flow-run process is still there.
    assert _has_flow_run_child(pid)


def test_a_held_run_is_found_and_signalled_once_the_api_answers(
    overloaded_api: type[_Overloaded], worker_with_a_flow_run: tuple[int, uuid.UUID]
) -> None:
    pid, run_id = worker_with_a_flow_run
    overloaded_api.refusals = 2
    overloaded_api.runs = [_run(run_id, StateType.PAUSED, "Paused")]

    assert suspend_held_runs(pid, timeout=20.0) == [run_id]
    assert overloaded_api.reads == 3
    # SIGTERM ended the stand-in flow-run process.
    assert not _has_flow_run_child(pid)


def test_a_run_that_is_not_held_is_left_alone(
    overloaded_api: type[_Overloaded], worker_with_a_flow_run: tuple[int, uuid.UUID]
) -> None:
    pid, run_id = worker_with_a_flow_run
    overloaded_api.runs = [_run(run_id, StateType.RUNNING, "Running")]

    assert suspend_held_runs(pid, timeout=5.0) == []
    assert overloaded_api.reads == 1
    assert _has_flow_run_child(pid)


def test_a_worker_that_ignores_sigterm_with_no_flow_run_left_is_killed_after_its_grace(
    overloaded_api: type[_Overloaded], worker_with_a_flow_run: tuple[int, uuid.UUID]
) -> None:
    pid, run_id = worker_with_a_flow_run
    overloaded_api.runs = [_run(run_id, StateType.PAUSED, "Paused")]

    # The held run's process takes its SIGTERM and exits; the worker ignores its own.
    assert stop_worker(pid, timeout=30.0)

    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_worker_with_a_flow_run_still_beneath_it_is_waited_for_not_killed(
    overloaded_api: type[_Overloaded], worker_with_a_flow_run: tuple[int, uuid.UUID]
) -> None:
    pid, run_id = worker_with_a_flow_run
    # Running, not held: its process is not signalled, and Prefect's worker would wait for it.
    overloaded_api.runs = [_run(run_id, StateType.RUNNING, "Running")]

    assert not stop_worker(pid, timeout=6.0)

    assert psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    assert _has_flow_run_child(pid)
