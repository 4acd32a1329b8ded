"""Benchmark: onboard-team of N new members against the emulator at 20 ms per request.

For each size (default 200, 1,000 and 2,000; ``--sizes 200,500`` to choose) the account is
reset, the run's API calls are counted by route, and the flow run's wall time (its own start
to end in the Prefect API; ``call_seconds`` adds creating and finishing the run) is compared with
the bound ``minimal_calls * latency / concurrency``. ``minimal_calls`` is ``3 * members + 20``:
one invite, one organization add and one space add per member, and a fixed 20 for the reads,
the space, the role and the CI key.

Two more figures per size, in the same run, show where the floor of this machine is:

- ``plain_client``: the same 3 calls per member made by a bare asyncio script with the same
  client (one ``AsyncArizeAdmin``, 8 in flight, no Prefect, no plan or verify) against the same
  emulator. What is left between it and the bound is HTTP on both ends on these 2 CPUs.
- ``cpu_ms_per_call``: CPU time per API call of the flow's process, the emulator and the
  Prefect server during the run (psutil).

Writes bench/results/onboard_team.json. Asserts nothing.

    python -m bench.onboard_team --sizes 200,1000,2000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench._emulator import EmulatorProcess, emulator_process
from bench._figures import machine, save

DEFAULT_SIZES = (200, 1000, 2000)
LATENCY_MS = 20.0
CONCURRENCY = 8
CALLS_PER_MEMBER = 3
FIXED_CALLS = 20
RESULTS = Path(__file__).parent / "results" / "onboard_team.json"


def minimal_calls(members: int) -> int:
    """The fewest API calls that can onboard ``members`` new people (see the module doc)."""
    return CALLS_PER_MEMBER * members + FIXED_CALLS


def bound_seconds(calls: int) -> float:
    """Wall time if every call waited out its latency with the concurrency cap always full."""
    return calls * LATENCY_MS / 1000 / CONCURRENCY


def team_spec(members: int, space: str = "bench-team") -> dict[str, Any]:
    """A team of ``members`` new people, half on a custom role, with a CI key."""
    return {
        "organization": "Acme",
        "space": space,
        "roles": [{"name": "Bench Analyst", "permissions": ["PROJECT_READ", "DASHBOARD_READ"]}],
        "members": [
            {
                "name": f"Bench User {i}",
                "email": f"bench{i:05d}@acme.example",
                "space_role": "Bench Analyst" if i % 2 else "MEMBER",
            }
            for i in range(members)
        ],
        "service_key": {"name": f"ci-{space}"},
    }


async def save_policy(base_url: str, admin_key: str) -> None:
    """The default policy: the emulator's admin key, 8 requests in flight, no rate limit."""
    from blocks.arize import ArizeCredentials
    from blocks.key_store import ArizeKeyStore
    from blocks.policy import RunbookPolicy

    await RunbookPolicy(
        credentials=ArizeCredentials(
            api_key=admin_key, base_url=base_url, max_concurrency=CONCURRENCY
        ),
        key_store=ArizeKeyStore(prefix="bench"),
        max_parallel=CONCURRENCY,
        rate_limit=None,
    ).asave("default", overwrite=True)


async def _task_runs(flow_run_id: Any) -> list[Any]:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, TaskRunFilter

    run_filter = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    runs: list[Any] = []
    async with get_client() as client:
        while True:
            page = await client.read_task_runs(
                flow_run_filter=run_filter, task_run_filter=TaskRunFilter(), limit=200,
                offset=len(runs),
            )
            runs += page
            if len(page) < 200:
                return runs


def _apply_ms_per_change(task_runs: list[Any], members: int) -> float:
    """Time in the large stages' batch tasks per change applied there: the per-change cost
    without the run's fixed part (plan, verify, report)."""
    batches = [t for t in task_runs if t.name.startswith("apply stage")]
    seconds = sum((t.end_time - t.start_time).total_seconds() for t in batches)
    return round(seconds * 1000 / (CALLS_PER_MEMBER * members), 2)


def _cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of this process, the emulator and the Prefect server (children)."""
    me = psutil.Process()
    totals = {"flow_process": sum(me.cpu_times()[:2]), "emulator": 0.0, "prefect_server": 0.0}
    for child in me.children(recursive=True):
        try:
            cmdline = " ".join(child.cmdline())
            used = sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            continue
        if "ArizeEmulatorServer" in cmdline:
            totals["emulator"] += used
        elif "prefect" in cmdline:
            totals["prefect_server"] += used
    return totals


def _cpu_per_call(before: dict[str, float], calls: int) -> dict[str, float]:
    after = _cpu_seconds()
    return {name: round((after[name] - before[name]) * 1000 / calls, 3) for name in after}


async def _journal(control: httpx.AsyncClient) -> dict[str, int]:
    return (await control.get("/requests")).json()["by_route"]


async def _flow_run_seconds(flow_run_id: Any) -> float:
    """The flow run's own start to end, as the Prefect API records them."""
    from prefect import get_client

    async with get_client() as client:
        run = await client.read_flow_run(flow_run_id)
    assert run.start_time is not None and run.end_time is not None
    return (run.end_time - run.start_time).total_seconds()


async def run_plain_client(emulator: EmulatorProcess, members: int) -> dict[str, Any]:
    """The same invites and memberships from a bare script: the floor of client + emulator."""
    from arize_admin import AsyncArizeAdmin, InviteMode, PredefinedRole

    admin_key = emulator.reset("demo")
    async with httpx.AsyncClient(
        base_url=f"{emulator.base_url}/_emulator", timeout=30, trust_env=False
    ) as control, AsyncArizeAdmin(
        api_key=admin_key, base_url=emulator.base_url, max_concurrency=CONCURRENCY
    ) as client:
        org = await client.organizations.find_by_name("Acme")
        assert org is not None, "the demo seed has the Acme organization"
        space = await client.spaces.create(name="bench-plain", organization_id=org.id)
        await control.put("/faults", json={"latency_ms": LATENCY_MS})
        await control.delete("/requests")
        spec = team_spec(members)["members"]
        cpu = _cpu_seconds()
        started = time.perf_counter()
        users = await asyncio.gather(
            *(
                client.users.create(
                    name=m["name"], email=m["email"], role="MEMBER",
                    invite_mode=InviteMode.EMAIL_LINK,
                )
                for m in spec
            )
        )
        await asyncio.gather(
            *(client.organizations.add_user(org.id, user_id=u.id, role="MEMBER") for u in users)
        )
        await asyncio.gather(
            *(
                client.spaces.add_user(space.id, user_id=u.id, role=PredefinedRole(name="MEMBER"))
                for u in users
            )
        )
        wall = time.perf_counter() - started
        calls = sum((await _journal(control)).values())
        await control.delete("/faults")
    bound = bound_seconds(calls)
    return {
        "api_calls": calls,
        "wall_seconds": round(wall, 2),
        "bound_seconds": round(bound, 3),
        "times_bound": round(wall / bound, 2),
        "cpu_ms_per_call": _cpu_per_call(cpu, calls),
    }


async def run_onboarding(emulator: EmulatorProcess, members: int) -> dict[str, Any]:
    """Reset the account, onboard ``members`` people once, and return the figures."""
    from flows.onboard_team.flow import onboard_team
    from flows.onboard_team.spec import OnboardTeamSpec

    plain = await run_plain_client(emulator, members)
    admin_key = emulator.reset("demo")
    await save_policy(emulator.base_url, admin_key)
    async with httpx.AsyncClient(
        base_url=f"{emulator.base_url}/_emulator", timeout=30, trust_env=False
    ) as control:
        await control.put("/faults", json={"latency_ms": LATENCY_MS})
        await control.delete("/requests")
        spec = OnboardTeamSpec.model_validate(team_spec(members))
        load_before = os.getloadavg()[0]
        cpu = _cpu_seconds()
        started = time.perf_counter()
        state = await onboard_team(spec=spec, return_state=True)
        call = time.perf_counter() - started
        outcome = await state.result()
        by_route = await _journal(control)
        await control.delete("/faults")
    calls = sum(by_route.values())
    wall = await _flow_run_seconds(state.state_details.flow_run_id)
    task_runs = await _task_runs(state.state_details.flow_run_id)
    minimal = minimal_calls(members)
    bound = bound_seconds(minimal)
    return {
        "members": members,
        "load_avg_1m_before": round(load_before, 2),
        "status": outcome.status.value,
        "changes_applied": outcome.applied,
        "wall_seconds": round(wall, 2),
        "call_seconds": round(call, 2),
        "api_calls": calls,
        "minimal_calls": minimal,
        "calls_over_minimal": round(calls / minimal - 1, 4),
        "api_calls_by_route": dict(Counter(by_route).most_common()),
        "task_runs": len(task_runs),
        "apply_ms_per_change": _apply_ms_per_change(task_runs, members),
        "bound_seconds": round(bound, 3),
        "times_bound": round(wall / bound, 2),
        "ms_per_member": round(wall / members * 1000, 2),
        "cpu_ms_per_call": _cpu_per_call(cpu, calls),
        "plain_client": plain,
        "times_plain_client": round(wall / plain["wall_seconds"], 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run each size on one emulator process and one Prefect test server; write the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.onboard_team")
    parser.add_argument(
        "--sizes", default=",".join(map(str, DEFAULT_SIZES)),
        help="comma-separated team sizes, e.g. 200,1000",
    )
    args = parser.parse_args([] if argv is None else argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    from prefect.testing.utilities import prefect_test_harness

    before = machine()
    with emulator_process() as emulator, prefect_test_harness(server_startup_timeout=120):
        runs = [asyncio.run(run_onboarding(emulator, n)) for n in sizes]
    per_member = [r["ms_per_member"] for r in runs]
    per_change = [r["apply_ms_per_change"] for r in runs]
    figures = {
        "latency_ms_per_request": LATENCY_MS,
        "concurrency_cap": CONCURRENCY,
        "minimal_calls_formula": f"{CALLS_PER_MEMBER} * members + {FIXED_CALLS}",
        "machine_before": before,
        "machine_after": machine(),
        "runs": runs,
        "per_member_spread": (
            round(max(per_member) / min(per_member) - 1, 3) if per_member else None
        ),
        "apply_per_change_spread": (
            round(max(per_change) / min(per_change) - 1, 3) if per_change else None
        ),
    }
    return save(RESULTS, figures)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
