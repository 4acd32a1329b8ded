"""Benchmark: kill → Rescheduled, over many runs whose worker is SIGKILLed mid-apply.

Starts an own redis-server and the HA stack (two API servers with ``--no-services``, the
services process, two process workers) on a new PostgreSQL database, with the Arize emulator
in a child process slowed down so every run spends long in apply, and the crash-recovery
automations at the heartbeat ``prefect.yaml`` ships (``--heartbeat``, 30 s) and 3 missed
intervals. Each round creates ``--runs-per-round`` onboard-team runs, waits until they run,
then SIGKILLs both workers with their flow-run processes at once (a lost machine each) and
starts two new workers; rounds repeat until ``--kills`` runs that were Running were killed,
whether they had heartbeated yet or not (each figure says which; both groups get their own
percentiles). A kill's latency is its run's ``Rescheduled`` state timestamp minus the kill; a
run not rescheduled within 15 minutes is reported as never rescheduled. Writes
bench/results/crash_detection.json with the load. Asserts nothing.

    python -m bench.crash_detection --runs-per-round 10 --kills 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import statistics
import subprocess
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from bench._emulator import emulator_process
from bench._figures import machine, save
from bench.ha_throughput import save_policy, team
from ops.crash_recovery import RESCHEDULED_STATE_NAME, last_heartbeat
from ops.ha_stack import HAOptions, PrefectHAStack, free_port
from ops.postgres import drop_database

RESULTS = Path(__file__).parent / "results" / "crash_detection.json"
SERVER_DSN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432")
MISSED = 3
# Seconds after a kill at which a run still not rescheduled is reported as never detected.
NEVER_S = 900


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(q * 100) - 1]


async def one_round(
    stack: PrefectHAStack, label: str, runs: int, members: int, new_workers: Any
) -> list[dict[str, Any]]:
    """Create the runs; once they run (or 3 minutes passed), kill both workers with their
    flow-run processes; the latency of every run that was Running and had heartbeated."""
    import psutil
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.objects import StateType

    api = stack.api_urls[0]
    async with PrefectClient(api) as client:
        deployment = await client.read_deployment_by_name("onboard-team/onboard-team")
        ids: list[UUID] = []
        for n in range(runs):
            run = await client.create_flow_run_from_deployment(
                deployment.id, parameters={"spec": team(f"{label}-{n}", members)}
            )
            ids.append(run.id)
        started = asyncio.get_running_loop().time()
        while True:
            states = [(await client.read_flow_run(i)).state for i in ids]
            settled = all(
                s is not None and (s.type is StateType.RUNNING or s.is_final()) for s in states
            )
            if settled or asyncio.get_running_loop().time() - started > 180:
                break
            await asyncio.sleep(0.5)
        # Every run that is Running when the machine goes counts, heartbeated or not: detection
        # must not depend on where in its life a run was killed; each figure says which it was.
        victims: dict[UUID, bool] = {}
        for run_id in ids:
            run = await client.read_flow_run(run_id)
            if run.state is not None and run.state.type is StateType.RUNNING:
                victims[run_id] = await last_heartbeat(client, run_id) is not None
        held = set()
        for worker in stack.workers:
            for child in psutil.Process(worker.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    held.add(child.environ().get("PREFECT__FLOW_RUN_ID"))
        killed_at = datetime.now(UTC)
        for worker in list(stack.workers):
            worker.kill_with_children()
            stack.workers.remove(worker)
        for _ in range(2):
            stack.start_worker(next(new_workers))
        figures = []
        pending = set(victims)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + NEVER_S
        while pending and loop.time() < give_up:
            for run_id in list(pending):
                history = await client.read_flow_run_states(run_id)
                rescheduled = [
                    s for s in history
                    if s.name == RESCHEDULED_STATE_NAME and s.timestamp >= killed_at
                ]
                if rescheduled:
                    pending.discard(run_id)
                    figures.append({
                        "run": str(run_id),
                        "had_a_process": str(run_id) in held,
                        "had_heartbeated": victims[run_id],
                        "kill_to_rescheduled_s": round(
                            (rescheduled[0].timestamp - killed_at).total_seconds(), 1
                        ),
                    })
            await asyncio.sleep(1)
        # A run never rescheduled is the failure this bench exists to find: it is reported,
        # never dropped from the figures.
        figures += [
            {"run": str(r), "had_a_process": str(r) in held, "had_heartbeated": victims[r],
             "kill_to_rescheduled_s": None}
            for r in pending
        ]
        # Let the round's runs finish before the next round kills the new workers.
        while True:
            states = [(await client.read_flow_run(i)).state for i in ids]
            if all(s is not None and s.is_final() for s in states):
                break
            await asyncio.sleep(1)
    return figures


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-per-round", type=int, default=10)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--max-rounds", type=int, default=4)
    parser.add_argument("--members", type=int, default=6)
    parser.add_argument("--heartbeat", type=int, default=30)
    parser.add_argument("--latency-ms", type=int, default=1500)
    args = parser.parse_args(argv if argv is not None else [])

    load_before = os.getloadavg()
    redis_port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="crash-bench-"))
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )
    database = f"arb_crash_bench_{uuid.uuid4().hex[:8]}"
    options = HAOptions(
        server_dsn=SERVER_DSN,
        database=database,
        redis_url=f"redis://127.0.0.1:{redis_port}/0",
        workers=2,
        heartbeat_frequency=args.heartbeat,
        missed_heartbeats=MISSED,
    )
    kills: list[dict[str, Any]] = []
    try:
        with emulator_process() as arize, PrefectHAStack(options, workdir) as stack:
            asyncio.run(save_policy(stack.api_urls[0], arize.base_url, arize.admin_key))
            httpx.put(f"{arize.base_url}/_emulator/faults",
                      json={"latency_ms": args.latency_ms}, timeout=10, trust_env=False)
            new_workers = itertools.count(2)
            for number in itertools.count():
                if len(kills) >= args.kills or number >= args.max_rounds:
                    break
                kills += asyncio.run(
                    one_round(stack, f"r{number}", args.runs_per_round, args.members,
                              new_workers)
                )
    finally:
        redis.terminate()
        redis.wait(timeout=20)
        asyncio.run(drop_database(SERVER_DSN, database))
    latencies = [k["kill_to_rescheduled_s"] for k in kills
                 if k["kill_to_rescheduled_s"] is not None]
    bound = args.heartbeat * MISSED

    def spread(group: list[float]) -> dict[str, float | int | None]:
        if not group:
            return {"kills": 0, "p50_s": None, "p95_s": None}
        return {"kills": len(group), "p50_s": round(percentile(group, 0.5), 1),
                "p95_s": round(percentile(group, 0.95), 1)}

    save(RESULTS, {
        "what": "SIGKILL of a worker with its flow-run processes (runs mid-apply, heartbeated "
        "or not yet) to the run's Rescheduled state, crash-recovery automations on the HA "
        "stack (2 API servers, services, 2 process workers, PostgreSQL + Redis)",
        "heartbeat_s": args.heartbeat,
        "missed_heartbeats": MISSED,
        "configured_window_s": bound,
        "kills": len(kills),
        "concurrent_runs_per_round": args.runs_per_round,
        "p50_s": round(percentile(latencies, 0.5), 1),
        "p95_s": round(percentile(latencies, 0.95), 1),
        "max_s": max(latencies),
        "min_s": min(latencies),
        "never_rescheduled": sum(k["kill_to_rescheduled_s"] is None for k in kills),
        "after_a_heartbeat": spread([k["kill_to_rescheduled_s"] for k in kills
                                     if k["had_heartbeated"] and k["kill_to_rescheduled_s"]]),
        "before_the_first_heartbeat": spread([
            k["kill_to_rescheduled_s"] for k in kills
            if not k["had_heartbeated"] and k["kill_to_rescheduled_s"]]),
        "each": kills,
        "load_avg_1m_before": round(load_before[0], 2),
        "machine": machine(),
    })


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
