"""Stop a process worker cleanly: its held approval gates suspend at once, then it exits.

``prefect worker start`` answers SIGTERM by interrupting itself and waiting for its flow-run
processes to finish; it does not forward the signal to them (they run in process groups of
their own). A run held at its approval gate would keep the worker alive for the rest of its
hold (5 minutes by default). The gate ends its hold on SIGTERM and suspends the run (its
process exits, the answer form stays valid, an answer starts a new process on any worker), so
stopping a worker is: SIGTERM each held flow-run process beneath it, then the worker.
Runs that are not held are left alone: the worker waits for them, as Prefect does.

A wrapper that starts ``prefect worker start`` calls :func:`stop_worker` from its SIGTERM
handler with the worker's pid.

Which runs are held is read from the Prefect API within the stop's time. A loaded Prefect
server on SQLite answers 503 ("database is locked"), and the client's own retries back off for
about two minutes before they raise: from a SIGTERM handler, that would leave the worker
running. So the read is one filtered request, retried here with short backoff until half the
stop's time has passed; if the API has not answered by then, no flow-run process is signalled
(each held run suspends when its hold ends) and the worker is stopped all the same.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from uuid import UUID

import httpx
import psutil
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.exceptions import PrefectHTTPStatusError
from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, temporary_settings

log = logging.getLogger(__name__)

ENGINE_MODULE = "prefect.engine"
FLOW_RUN_ID_VARIABLE = "PREFECT__FLOW_RUN_ID"


def flow_run_processes(worker_pid: int) -> dict[UUID, psutil.Process]:
    """The flow-run processes beneath a worker, by the flow run each one runs."""
    found: dict[UUID, psutil.Process] = {}
    try:
        children = psutil.Process(worker_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return found
    for child in children:
        with contextlib.suppress(psutil.Error, ValueError):
            if ENGINE_MODULE not in child.cmdline():
                continue
            run_id = child.environ().get(FLOW_RUN_ID_VARIABLE)
            if run_id:
                found[UUID(run_id)] = child
    return found


def _is_transient(exc: Exception) -> bool:
    if isinstance(exc, PrefectHTTPStatusError | httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code in {408, 429}
    return isinstance(exc, httpx.TransportError)


def _read_runs(
    client: SyncPrefectClient, run_ids: list[UUID], deadline: float
) -> list[FlowRun] | None:
    """The runs, in one filtered request retried on transient failures until ``deadline``;
    None when the API has not answered by then (or refused for good)."""
    wanted = FlowRunFilter(id=FlowRunFilterId(any_=run_ids))
    delay = 0.25
    while True:
        try:
            return client.read_flow_runs(flow_run_filter=wanted, limit=len(run_ids))
        except (httpx.HTTPError, PrefectHTTPStatusError) as exc:
            left = deadline - time.monotonic()
            if not _is_transient(exc) or left <= delay:
                log.warning(
                    "The Prefect API did not say which runs are held (%s): the worker is "
                    "stopped without suspending them first; each suspends when its hold ends.",
                    type(exc).__name__,
                )
                return None
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def held_processes(
    worker_pid: int, client: SyncPrefectClient | None = None, timeout: float = 10.0
) -> dict[UUID, psutil.Process]:
    """The flow-run processes beneath a worker whose run is held (Paused) at its gate.

    Read within ``timeout`` seconds (see the module's docstring); none when the API has not
    answered by then.
    """
    processes = flow_run_processes(worker_pid)
    if not processes:
        return {}
    deadline = time.monotonic() + timeout
    if client is None:
        # The client's retries would outlast the deadline: _read_runs retries instead.
        with (
            temporary_settings({PREFECT_CLIENT_MAX_RETRIES: 0}),
            get_client(sync_client=True, httpx_settings={"timeout": timeout}) as own,
        ):
            runs = _read_runs(own, list(processes), deadline)
    else:
        runs = _read_runs(client, list(processes), deadline)
    return {
        run.id: processes[run.id]
        for run in runs or []
        if run.id in processes and run.state is not None and run.state.type is StateType.PAUSED
    }


def suspend_held_runs(
    worker_pid: int, client: SyncPrefectClient | None = None, timeout: float = 10.0
) -> list[UUID]:
    """SIGTERM every held flow-run process beneath the worker and wait up to ``timeout``
    seconds for them to exit: each gate suspends its run at once. Returns the runs signalled.

    The worker must not be signalled before they are gone: once interrupted it cancels its
    flow-run supervisors, which could kill a process still suspending its run.
    """
    deadline = time.monotonic() + timeout
    # Half the time at most for the read, so that a slow API leaves time for the rest.
    held = held_processes(worker_pid, client, timeout / 2)
    for process in held.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGTERM)
    psutil.wait_procs(list(held.values()), timeout=max(deadline - time.monotonic(), 0.0))
    return list(held)


def stop_worker(worker_pid: int, timeout: float = 10.0) -> bool:
    """Suspend the worker's held runs, then SIGTERM the worker, and wait until ``timeout``
    seconds have passed in all for it to be gone. Returns whether it is (the caller decides
    whether to SIGKILL it).

    Prefect's worker turns SIGTERM into an interrupt of its own event loop (a cancel of its main
    task), and that interrupt can be lost: we have seen a worker with no flow-run process left
    beneath it poll on for two minutes after SIGTERM (Python 3.11's asyncio). A worker with no
    flow-run process has nothing left to lose, so once it has had ``grace_seconds`` and has none,
    it is killed; while flow-run processes are beneath it, it is waited for, as Prefect does.
    """
    deadline = time.monotonic() + timeout
    suspend_held_runs(worker_pid, timeout=timeout)
    try:
        worker = psutil.Process(worker_pid)
        worker.send_signal(signal.SIGTERM)
    except psutil.NoSuchProcess:
        return True
    signalled = time.monotonic()
    # Long enough for a worker's own teardown (it emits an event and closes its clients).
    grace_ends = signalled + min(timeout / 2, 10.0)
    while True:
        try:
            worker.wait(timeout=min(0.5, max(deadline - time.monotonic(), 0.01)))
            return True
        except psutil.TimeoutExpired:
            pass
        now = time.monotonic()
        if now >= grace_ends and not flow_run_processes(worker_pid):
            log.warning(
                "worker %s still running %.0f s after SIGTERM with no flow run beneath it: its "
                "interrupt was lost; killed",
                worker_pid,
                now - signalled,
            )
            with contextlib.suppress(psutil.NoSuchProcess):
                worker.kill()
                worker.wait(timeout=max(deadline - now, 1.0))
            return not worker.is_running()
        if now >= deadline:
            return False
