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

Which runs are held is read from the Prefect API in one request, without the client's retries
and within the stop's time: on a loaded server that answers 503 ("database is locked"), the
client would retry with backoff for longer than any stop may take. Unanswered, no flow-run
process is signalled, and the worker is stopped all the same.
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
from prefect.client.schemas.objects import StateType
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


def held_processes(
    worker_pid: int, client: SyncPrefectClient | None = None, timeout: float = 10.0
) -> dict[UUID, psutil.Process]:
    """The flow-run processes beneath a worker whose run is held (Paused) at its gate.

    One API request, at most ``timeout`` seconds and not retried (with ``client`` None); none
    when the API does not answer.
    """
    processes = flow_run_processes(worker_pid)
    if not processes:
        return {}
    if client is None:
        with (
            temporary_settings({PREFECT_CLIENT_MAX_RETRIES: 0}),
            get_client(sync_client=True, httpx_settings={"timeout": timeout}) as own,
        ):
            return held_processes(worker_pid, own, timeout)
    wanted = FlowRunFilter(id=FlowRunFilterId(any_=list(processes)))
    try:
        runs = client.read_flow_runs(flow_run_filter=wanted, limit=len(processes))
    except (httpx.HTTPError, PrefectHTTPStatusError) as exc:
        log.warning(
            "The Prefect API did not say which runs are held (%s): the worker is stopped "
            "without suspending them first; each suspends when its hold ends.",
            type(exc).__name__,
        )
        return {}
    return {
        run.id: processes[run.id]
        for run in runs
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
    held = held_processes(worker_pid, client, timeout)
    for process in held.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGTERM)
    psutil.wait_procs(list(held.values()), timeout=max(deadline - time.monotonic(), 0.0))
    return list(held)


def stop_worker(worker_pid: int, timeout: float = 10.0) -> bool:
    """Suspend the worker's held runs, then SIGTERM the worker, and wait until ``timeout``
    seconds have passed in all for it to exit. Returns whether it did (the caller decides
    whether to SIGKILL it)."""
    deadline = time.monotonic() + timeout
    suspend_held_runs(worker_pid, timeout=timeout)
    try:
        worker = psutil.Process(worker_pid)
        worker.send_signal(signal.SIGTERM)
    except psutil.NoSuchProcess:
        return True
    try:
        worker.wait(timeout=max(deadline - time.monotonic(), 1.0))
    except psutil.TimeoutExpired:
        return False
    return True
