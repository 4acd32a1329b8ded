"""Benchmark: onboard-team runs per minute on the HA stack, with one and with two workers.

Starts an own redis-server and the HA stack (two API servers, services, workers) on a new
PostgreSQL database, with the Arize emulator in a child process. For each worker count it
creates ``--runs`` onboard-team runs (``--members`` new people each) through the deployments,
alternating between the API servers, and times first creation → last completion. Writes
bench/results/ha_throughput.json with the machine's load. Asserts nothing.

    python -m bench.ha_throughput --runs 8 --members 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench._emulator import emulator_process
from ops.ha_stack import HAOptions, PrefectHAStack, free_port
from ops.postgres import drop_database

RESULTS = Path(__file__).parent / "results" / "ha_throughput.json"
SERVER_DSN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432")
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}


def team(space: str, members: int) -> dict[str, Any]:
    """A small team: a space and ``members`` new people."""
    return {
        "organization": "Acme",
        "space": space,
        "members": [
            {"name": f"{space} {i}", "email": f"{space}.{i}@acme.example"} for i in range(members)
        ],
    }


async def save_policy(api_url: str, base_url: str, admin_key: str) -> None:
    """The "default" policy on the stack, acting on the emulator."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from blocks.arize import ArizeCredentials
    from blocks.key_store import ArizeKeyStore
    from blocks.policy import RunbookPolicy

    with temporary_settings({PREFECT_API_URL: api_url}):
        await RunbookPolicy(
            credentials=ArizeCredentials(api_key=admin_key, base_url=base_url),
            key_store=ArizeKeyStore(prefix=f"bench-{uuid.uuid4().hex[:6]}"),
        ).asave("default", overwrite=True)


async def measure(api_urls: list[str], label: str, runs: int, members: int) -> dict[str, Any]:
    """Create ``runs`` runs, wait for all to end; runs per minute and how they ended."""
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api_urls[0]) as client:
        deployment = await client.read_deployment_by_name("onboard-team/onboard-team")
        started = time.perf_counter()
        ids = []
        for n in range(runs):
            async with PrefectClient(api_urls[n % len(api_urls)]) as via:
                run = await via.create_flow_run_from_deployment(
                    deployment.id, parameters={"spec": team(f"{label}-{n}", members)}
                )
            ids.append(run.id)
        while True:
            states = [(await client.read_flow_run(i)).state for i in ids]
            if all(s is not None and s.type.value in FINAL for s in states):
                break
            await asyncio.sleep(0.5)
        elapsed = time.perf_counter() - started
    ended: dict[str, int] = {}
    for state in states:
        assert state is not None
        ended[state.type.value] = ended.get(state.type.value, 0) + 1
    return {
        "runs": runs,
        "members_per_run": members,
        "seconds": round(elapsed, 1),
        "runs_per_minute": round(runs / elapsed * 60, 2),
        "ended": ended,
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--members", type=int, default=3)
    args = parser.parse_args(argv if argv is not None else [])

    load_before = os.getloadavg()
    redis_port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="ha-bench-"))
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )
    database = f"arb_ha_bench_{uuid.uuid4().hex[:8]}"
    options = HAOptions(
        server_dsn=SERVER_DSN,
        database=database,
        redis_url=f"redis://127.0.0.1:{redis_port}/0",
        workers=1,
        worker_poll_seconds=2,
    )
    figures: list[dict[str, Any]] = []
    try:
        with emulator_process() as arize, PrefectHAStack(options, workdir) as stack:
            asyncio.run(save_policy(stack.api_urls[0], arize.base_url, arize.admin_key))
            for workers in (1, 2):
                if workers == 2:
                    stack.start_worker(1)
                figure = asyncio.run(
                    measure(stack.api_urls, f"w{workers}", args.runs, args.members)
                )
                figures.append({"workers": workers, **figure})
    finally:
        redis.terminate()
        redis.wait(timeout=20)
        asyncio.run(drop_database(SERVER_DSN, database))
    result = {
        "what": "onboard-team runs per minute through two Prefect API servers on PostgreSQL "
        "and Redis, first creation to last completion; worker poll 2 s",
        "figures": figures,
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m_before": round(load_before[0], 2),
            "load_avg_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        },
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
