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
"""

from __future__ import annotations

import contextlib
import signal
import time
from uuid import UUID

import psutil
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.objects import StateType

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
    worker_pid: int, client: SyncPrefectClient | None = None
) -> dict[UUID, psutil.Process]:
    """The flow-run processes beneath a worker whose run is held (Paused) at its gate."""
    processes = flow_run_processes(worker_pid)
    if not processes:
        return {}
    if client is None:
        with get_client(sync_client=True) as own:
            return held_processes(worker_pid, own)
    held = {}
    for run_id, process in processes.items():
        run = client.read_flow_run(run_id)
        if run.state is not None and run.state.type is StateType.PAUSED:
            held[run_id] = process
    return held


def suspend_held_runs(
    worker_pid: int, client: SyncPrefectClient | None = None, timeout: float = 10.0
) -> list[UUID]:
    """SIGTERM every held flow-run process beneath the worker and wait up to ``timeout``
    seconds for them to exit: each gate suspends its run at once. Returns the runs signalled.

    The worker must not be signalled before they are gone: once interrupted it cancels its
    flow-run supervisors, which could kill a process still suspending its run.
    """
    held = held_processes(worker_pid, client)
    for process in held.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGTERM)
    psutil.wait_procs(list(held.values()), timeout=timeout)
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
