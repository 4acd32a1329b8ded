"""Benchmark: onboard-team for 200 new members against the emulator at 20 ms per request.

Writes bench/results/onboard_team.json: wall time, API calls by route, Prefect task runs, and
the lower bound ``calls * latency / concurrency`` the run is compared with. Asserts nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from pathlib import Path

import httpx

MEMBERS = 200
LATENCY_MS = 20.0
CONCURRENCY = 8
RESULTS = Path(__file__).parent / "results" / "onboard_team.json"


def _spec(members: int) -> dict:
    return {
        "organization": "Acme",
        "space": "bench-team",
        "roles": [{"name": "Bench Analyst", "permissions": ["PROJECT_READ", "DASHBOARD_READ"]}],
        "members": [
            {
                "name": f"Bench User {i}",
                "email": f"bench{i:03d}@acme.example",
                "space_role": "Bench Analyst" if i % 2 else "MEMBER",
            }
            for i in range(members)
        ],
        "service_key": {"name": "ci-bench-team"},
    }


async def _run(base_url: str, admin_key: str) -> dict:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, TaskRunFilter

    from blocks.arize import ArizeCredentials
    from blocks.key_store import ArizeKeyStore
    from blocks.policy import RunbookPolicy
    from flows.onboard_team.flow import onboard_team
    from flows.onboard_team.spec import OnboardTeamSpec

    await RunbookPolicy(
        credentials=ArizeCredentials(
            api_key=admin_key, base_url=base_url, max_concurrency=CONCURRENCY
        ),
        key_store=ArizeKeyStore(prefix="bench"),
        max_parallel=CONCURRENCY,
        rate_limit=None,
    ).asave("default", overwrite=True)
    control = httpx.AsyncClient(base_url=f"{base_url}/_emulator", timeout=10)
    await control.delete("/requests")
    await control.put("/faults", json={"latency_ms": LATENCY_MS})

    spec = OnboardTeamSpec.model_validate(_spec(MEMBERS))
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    state = await onboard_team(spec=spec, return_state=True)
    wall = time.perf_counter() - started
    outcome = await state.result()

    journal = (await control.get("/requests")).json()
    await control.aclose()
    calls = sum(journal["by_route"].values())
    run_filter = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
    task_runs = 0
    async with get_client() as client:
        while True:
            page = await client.read_task_runs(
                flow_run_filter=run_filter, task_run_filter=TaskRunFilter(), limit=200,
                offset=task_runs,
            )
            task_runs += len(page)
            if len(page) < 200:
                break
    lower_bound = calls * LATENCY_MS / 1000 / CONCURRENCY
    return {
        "members": MEMBERS,
        "load_avg_1m_before": round(load_before, 2),
        "latency_ms_per_request": LATENCY_MS,
        "concurrency_cap": CONCURRENCY,
        "status": outcome.status.value,
        "changes_applied": outcome.applied,
        "wall_seconds": round(wall, 2),
        "api_calls": calls,
        "api_calls_by_route": dict(Counter(journal["by_route"]).most_common()),
        "task_runs": task_runs,
        "lower_bound_seconds": round(lower_bound, 2),
        "ratio_to_lower_bound": round(wall / lower_bound, 2) if lower_bound else None,
    }


def main() -> dict:
    """Run the benchmark on a fresh emulator and Prefect test harness; write the figures."""
    from prefect.testing.utilities import prefect_test_harness

    from emulator.arize import ArizeEmulatorServer

    with ArizeEmulatorServer(seed="demo") as emulator, prefect_test_harness(
        server_startup_timeout=120
    ):
        figures = asyncio.run(_run(emulator.base_url, emulator.admin_key))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
