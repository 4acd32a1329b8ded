"""Benchmark: onboard-team on the configuration ``setup`` creates (the ``arize-api`` rate limit,
10 requests per second) beside the same run unthrottled, and a 1-change run's fixed cost.

For 10 and 200 new members (``--sizes`` to choose), the account is reset and the run is made
twice on one Prefect test server and one emulator process: with ``rate_limit=None``, then with
the policy naming a Prefect global concurrency limit of ``--per-second`` slots that drain at
that rate (exactly what ``setup`` creates). In the throttled run the emulator answers 429 to
any request above the same rate (its ``max_rps``, every method: Arize documents a 429 on every
endpoint, reads included), standing in for Arize's limit. The emulator process logs when each
request reached it. Per run:

- ``run_requests_per_second``: the whole run's requests as they reached Arize (plan, apply,
  verify), one after another: (requests - 1) ÷ (last arrival - first arrival), against
  ``configured_per_second`` (``of_configured``). Arize's limit is a sliding window that lets
  a whole window's worth go at once, so a short run can show more than the rate; hence also
  ``of_limit_best``: the least time the limit allows for that many requests (every window
  full, from the first) ÷ the time they took;
- ``apply_requests_per_second``: requests that reached Arize during the apply ÷ the apply's
  time (from its start to the last change finishing, heard through the apply's progress
  listener). The plan's reads just before it use up part of the first window, so this one
  is below the rate even for a pacer that loses nothing; ``writes`` and ``requests`` count
  the whole run;
- ``most_in_one_second``: the most requests that reached Arize within any one second;
- ``rate_429s``: the 429s the emulator answered (none is the goal);
- ``flow_run_seconds``: the flow run's start to end in the Prefect API;
- ``pacer``: reservations, slots granted and spent, and the seconds requests waited for room
  in Arize's window and for the Prefect server's grant.

Then the smallest run: a member taken out of an onboarded team's space and put back (the plan
says how many changes that is: ``changes``), with and without the limit: ``fixed_cost`` gives
the flow run's start to end, each task run on a timeline from the flow run's start, the time in
no task (the flow's own round trips to Prefect), and what the run's pacer waited for.

Writes bench/results/rate_limit.json. Asserts nothing.

    python -m bench.rate_limit --sizes 10,200
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench._emulator import EmulatorProcess, arrivals, emulator_process
from bench._figures import machine, save
from bench.onboard_team import LATENCY_MS, _flow_run_seconds, _task_runs, team_spec
from cli.setup import RATE_LIMIT_PER_SECOND, ensure_rate_limit

DEFAULT_SIZES = (10, 200)
PER_SECOND = RATE_LIMIT_PER_SECOND
WRITES = ["POST", "PUT", "PATCH", "DELETE"]
RESULTS = Path(__file__).parent / "results" / "rate_limit.json"


class _ApplyClock:
    """The apply's progress listener: when it started and when its last change finished."""

    def __init__(self) -> None:
        self.started_at: float | None = None
        self.last_at: float | None = None
        self.done = 0

    def started(self, total: int) -> None:
        # Unix time: compared with the emulator process's arrival log.
        self.started_at = time.time()

    def finished(self, change: Any, error: BaseException | None) -> None:
        self.done += 1
        self.last_at = time.time()


async def _policy(emulator: EmulatorProcess, admin_key: str, rate_limit: str | None) -> None:
    from blocks.arize import ArizeCredentials
    from blocks.key_store import ArizeKeyStore
    from blocks.policy import RunbookPolicy

    await RunbookPolicy(
        credentials=ArizeCredentials(api_key=admin_key, base_url=emulator.base_url),
        key_store=ArizeKeyStore(prefix="bench"),
        rate_limit=rate_limit,
    ).asave("default", overwrite=True)


async def _onboard(spec_data: dict[str, Any]) -> tuple[Any, _ApplyClock]:
    from flows.onboard_team.flow import onboard_team
    from flows.onboard_team.spec import OnboardTeamSpec
    from tasks.steps import progress

    clock = _ApplyClock()
    token = progress.listener.set(clock)
    try:
        state = await onboard_team(
            spec=OnboardTeamSpec.model_validate(spec_data), return_state=True
        )
    finally:
        progress.listener.reset(token)
    return state, clock


def most_in_one_second(times: list[float]) -> int:
    """The most of ``times`` (sorted) that fall within any one second."""
    return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


async def run_size(
    emulator: EmulatorProcess, log: Path, members: int, rate_limit: str | None, per_second: int
) -> dict[str, Any]:
    """One onboarding of ``members`` people, with or without the rate limit."""
    admin_key = emulator.reset("demo")
    await _policy(emulator, admin_key, rate_limit)
    async with httpx.AsyncClient(
        base_url=f"{emulator.base_url}/_emulator", timeout=30, trust_env=False
    ) as control:
        # Arize's limit stands only against the throttled run; the other shows the run's pace.
        limit = {"max_rps": per_second} if rate_limit else {}
        await control.put("/faults", json={"latency_ms": LATENCY_MS, **limit})
        await control.delete("/requests")
        load = os.getloadavg()[0]
        run_started = time.time()
        state, clock = await _onboard(team_spec(members, space=f"rl-{members}"))
        outcome = await state.result()
        rate_429s = (await control.get("/faults")).json()["injected"]
        by_method = (await control.get("/requests")).json()["by_method"]
        await control.delete("/faults")
    assert clock.started_at is not None and clock.last_at is not None
    apply_seconds = clock.last_at - clock.started_at
    writes = sum(by_method.get(m, 0) for m in WRITES)
    during_run = arrivals(log, since=run_started)
    during_apply = arrivals(log, since=clock.started_at, until=clock.last_at)
    span = during_run[-1] - during_run[0] if len(during_run) > 1 else 0.0
    run_rate = (len(during_run) - 1) / span if span else 0.0
    # Every window full from the first request: the 1st, (limit+1)th, … each a window apart.
    best = ((len(during_run) - 1) // per_second) * 1.0 if rate_limit else 0.0
    return {
        "members": members,
        "rate_limit": rate_limit and "on",
        "load_avg_1m_before": round(load, 2),
        "status": outcome.status.value,
        "changes": clock.done,
        "writes": writes,
        "requests": sum(by_method.values()),
        "run_seconds": round(span, 2),
        "run_requests_per_second": round(run_rate, 2),
        "configured_per_second": per_second if rate_limit else None,
        "of_configured": round(run_rate / per_second, 3) if rate_limit else None,
        "of_limit_best": round(best / span, 3) if rate_limit and span else None,
        "apply_requests": len(during_apply),
        "apply_seconds": round(apply_seconds, 2),
        "apply_requests_per_second": round(len(during_apply) / apply_seconds, 2),
        "most_in_one_second": most_in_one_second(during_run),
        "rate_429s": rate_429s,
        "flow_run_seconds": round(await _flow_run_seconds(state.state_details.flow_run_id), 2),
        "pacer": _pacer_counts(state.state_details.flow_run_id),
    }


def _pacer_counts(run_id: Any) -> dict[str, Any] | None:
    """What the run's pacer did: slots granted and spent, and what requests waited for."""
    from tasks.steps import throttle

    pacer = throttle.of_run(run_id)
    if pacer is None:
        return None
    return {
        "reservations": pacer.reservations,
        "granted": pacer.granted,
        "spent": pacer.handed_out,
        "lapsed": pacer.expired,
        "seconds_waiting_for_window": round(pacer.waited_for_window, 2),
        "seconds_waiting_for_server": round(pacer.waited_for_server, 2),
    }


async def fixed_cost(emulator: EmulatorProcess, rate_limit: str | None) -> dict[str, Any]:
    """A run that applies exactly one change: start → report, and each phase."""
    from arize_admin import AsyncArizeAdmin

    admin_key = emulator.reset("demo")
    await _policy(emulator, admin_key, rate_limit)
    spec = team_spec(1, space="rl-one")
    spec.pop("service_key")
    spec["roles"] = []
    spec["members"][0]["space_role"] = "MEMBER"
    await _onboard(spec)
    async with AsyncArizeAdmin(api_key=admin_key, base_url=emulator.base_url) as client:
        space = await client.spaces.find_by_name("rl-one")
        user = await client.users.find_by_email(spec["members"][0]["email"])
        assert space is not None and user is not None
        await client.spaces.remove_user(space.id, user_id=user.id)
    # The set-up run above used the limit a moment ago: let its slots drain (two windows), so
    # the figure is this run's own cost, as for an admin's run on an idle limit.
    await asyncio.sleep(2.0)
    load = os.getloadavg()[0]
    state, _ = await _onboard(spec)
    outcome = await state.result()
    run_id = state.state_details.flow_run_id
    return {
        "rate_limit": rate_limit and "on",
        "load_avg_1m_before": round(load, 2),
        "changes": outcome.planned,
        "applied": outcome.applied,
        "flow_run_seconds": round(await _flow_run_seconds(run_id), 2),
        "pacer": _pacer_counts(run_id),
        **await _timeline(run_id),
    }


async def _timeline(run_id: Any) -> dict[str, Any]:
    """Where a run's time goes: each task run's start and end from the flow run's start, and
    the time inside no task (the flow's own code and its round trips to Prefect between tasks)."""
    from prefect import get_client

    async with get_client() as client:
        run = await client.read_flow_run(run_id)
    assert run.start_time is not None and run.end_time is not None
    phases: dict[str, float] = {}
    timeline: list[dict[str, Any]] = []
    busy_until = 0.0
    in_tasks = 0.0
    task_runs = [t for t in await _task_runs(run_id) if t.start_time and t.end_time]
    for task_run in sorted(task_runs, key=lambda t: t.start_time):
        start = (task_run.start_time - run.start_time).total_seconds()
        end = (task_run.end_time - run.start_time).total_seconds()
        phase = task_run.name.split(" ")[0]
        phases[phase] = round(phases.get(phase, 0.0) + end - start, 3)
        timeline.append({"task": task_run.name, "start": round(start, 3), "end": round(end, 3)})
        # Time covered by some task, counted once where tasks overlap.
        in_tasks += max(0.0, end - max(start, busy_until))
        busy_until = max(busy_until, end)
    total = (run.end_time - run.start_time).total_seconds()
    return {
        "task_seconds_by_phase": phases,
        "seconds_outside_tasks": round(total - in_tasks, 3),
        "timeline": timeline,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.rate_limit")
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--per-second", type=int, default=PER_SECOND)
    args = parser.parse_args([] if argv is None else argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    from prefect.testing.utilities import prefect_test_harness

    before = machine()
    name = f"arize-api-{uuid.uuid4().hex[:6]}"
    with (
        tempfile.TemporaryDirectory() as tmp,
        emulator_process(log=Path(tmp) / "arrivals.log") as emulator,
        prefect_test_harness(server_startup_timeout=120),
    ):
        log = Path(tmp) / "arrivals.log"
        asyncio.run(ensure_rate_limit(name, args.per_second))
        runs = [
            asyncio.run(run_size(emulator, log, n, limit, args.per_second))
            for n in sizes for limit in (None, name)
        ]
        fixed = [asyncio.run(fixed_cost(emulator, limit)) for limit in (None, name)]
    return save(RESULTS, {
        "configuration": f"setup's rate limit: {args.per_second} slots, "
                         f"{args.per_second}/s decay; emulator 429 above {args.per_second} "
                         f"requests/s (any method), {LATENCY_MS} ms per request",
        "machine_before": before,
        "machine_after": machine(),
        "runs": runs,
        "fixed_cost_one_change": fixed,
    })


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
