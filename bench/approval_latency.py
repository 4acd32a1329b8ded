"""Benchmark: a signed Slack click on an approval message until the waiting run runs again.

Each round resets the Arize emulator, starts restrict-project (its plan is destructive, so it
posts to the Slack emulator and waits at the gate), and once the run waits sends Alice's signed
"approve" click to the webhook service's interactivity endpoint. Two modes, in one bench run:

- ``local``: the flow runs in this process and pauses; the resume's own ``Running`` event wakes
  it (``tasks/approvals/pause.py``). The policy's ``poll_interval_seconds`` is left at the
  default ``setup`` ships (5 s): it is only the fallback when no event arrives.
- ``deployment``: restrict-project is deployed to a process work pool on the same Prefect
  server and run by ``prefect worker start`` (a subprocess). With the approval policy's
  ``hold_seconds`` (``--hold``; ``default`` is the policy's 300 s) the run first holds at the
  gate in its own process (state Paused) and the click lands within the hold: the run resumes
  in that process, as a local run does. With ``--hold 0`` it suspends at once (its process
  exits, state Paused named Suspended). The click resumes it to Scheduled; the worker finds it
  at its next poll of scheduled runs (``PREFECT_WORKER_QUERY_SECONDS``, Prefect's default
  10 s), starts a new flow-run process, and the flow re-enters from the top (re-plans, reads
  the votes, checks for drift) before its first change. Measured once per worker poll
  interval given by ``--worker-poll`` (default: Prefect's default, 1 s and 2 s) and hold.

Latencies per click: ``to_not_paused`` (the Prefect API shows the run out of Paused: the
handler resumed it), ``to_running`` (deployment mode: the run is Running again, in its new
process when it suspended) and ``to_first_change`` (the run's first mutating Arize
request); from the server's state timestamps, ``server_click_to_pending`` (the worker's poll)
and ``server_pending_to_running`` (the new process starting), for suspended runs only. The
click follows the run's own pickup by a poll and its suspension by a steady few seconds, so the
wait for the next poll is not uniform over the interval as for a person's click: at 10 s it is
about 10 s minus the time to suspend (a person's click waits 5 s on average).
Writes bench/results/approval_latency.json. Asserts nothing.

With ``--rate-limit off,on`` (the default) each deployment case also runs under the
``arize-api`` limit as ``setup`` creates it (10 slots, 10/s), and every click records
``server_click_to_completed``: the click to the run Completed (applied, verified, reported).

    python -m bench.approval_latency --clicks 10 --worker-poll default,1,2 --hold default,0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench._emulator import EmulatorProcess, emulator_process
from bench._worker import prefect_env, process_worker

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "restrict-project.yaml"
RESULTS = Path(__file__).parent / "results" / "approval_latency.json"
SAMPLE_SECONDS = 0.02
# Deployment rounds last seconds; sampling the API as often as the local mode would load it.
DEPLOYMENT_SAMPLE_SECONDS = 0.05
# Bench-only Slack credentials: the Slack emulator accepts any token it is configured with.
BOT_TOKEN = "xoxb-bench-0000000000-benchbottoken"
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
ALICE = "U0ALICE"
# The webhook service signs votes with this key; a bench-only value when none is set.
SERVICE_KEY_ENV = "ARIZE_RUNBOOKS_SERVICE_KEY"
CLICK_DEADLINE_SECONDS = 300
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
POOL = "bench-approval"
FLOW_NAME = "restrict-project"
ENTRYPOINT = "flows/restrict_project/flow.py:restrict_project"
QUERY_SECONDS_ENV = "PREFECT_WORKER_QUERY_SECONDS"
DEFAULT_POLL = "default"
DEFAULT_HOLD = "default"


async def _mutations(control: httpx.AsyncClient) -> int:
    by_route = (await control.get("/requests")).json()["by_route"]
    return sum(n for route, n in by_route.items() if route.split(" ", 1)[0] in MUTATING)


RATE_LIMIT = "arize-api"
"""The limit as ``setup`` creates it (10 slots, 10/s decay); ``--rate-limit on`` runs under it."""


async def _create_rate_limit() -> None:
    from prefect import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists

    async with get_client() as client:
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=RATE_LIMIT, limit=10, slot_decay_per_second=10)
            )


async def _save_policy(
    emulator: EmulatorProcess, slack: Any, hold: str = DEFAULT_HOLD, rate_limit: bool = False
) -> None:
    """Reset the account; a policy with Slack approvals by the arize-approvers group."""
    from blocks.arize import ArizeCredentials
    from blocks.key_store import ArizeKeyStore
    from blocks.policy import RunbookPolicy
    from blocks.slack import SlackApprovals
    from core.approvals.rules import ApprovalPolicy

    admin_key = emulator.reset("demo")
    await RunbookPolicy(
        credentials=ArizeCredentials(api_key=admin_key, base_url=emulator.base_url),
        slack=SlackApprovals(
            bot_token=BOT_TOKEN, channel="#arize-approvals", base_url=slack.base_url
        ),
        approval=ApprovalPolicy(
            approver_group="arize-approvers",
            quorum=1,
            timeout_seconds=600,
            **({} if hold == DEFAULT_HOLD else {"hold_seconds": int(hold)}),
        ),
        key_store=ArizeKeyStore(prefix="bench-approval"),
        rate_limit=RATE_LIMIT if rate_limit else None,
    ).asave("default", overwrite=True)


def _default_poll_seconds() -> int:
    """The policy's fallback poll, as ``setup`` ships it (the bench does not lower it)."""
    from blocks.policy import RunbookPolicy

    return int(RunbookPolicy.model_fields["poll_interval_seconds"].default)


async def _click(
    slack: Any, webhook: httpx.AsyncClient
) -> tuple[float, datetime, httpx.Response]:
    """Alice's signed approve click on the newest approval message; when it was sent.

    Returns:
        The click's ``perf_counter`` and wall-clock time (to compare with the server's state
        timestamps), and the service's response.
    """
    from emulator.slack.interactions import build_click

    click = build_click(slack.state, signing_secret=SIGNING_SECRET, user_id=ALICE)
    clicked, clicked_at = time.perf_counter(), datetime.now(UTC)
    response = await webhook.post(
        "/slack/interactions", content=click.body, headers=click.headers
    )
    response.raise_for_status()
    return clicked, clicked_at, response


async def _one_click(
    emulator: EmulatorProcess, slack: Any, webhook: httpx.AsyncClient, spec: dict[str, Any]
) -> dict[str, float]:
    """One gated local run answered by one click; the two latencies in seconds."""
    from prefect import get_client

    from cli.approvals import wait_for_gate
    from flows.restrict_project.flow import restrict_project

    await _save_policy(emulator, slack)
    control = httpx.AsyncClient(
        base_url=f"{emulator.base_url}/_emulator", timeout=30, trust_env=False
    )
    since = datetime.now(UTC)
    run_task = asyncio.create_task(restrict_project(spec=spec))
    paused = await asyncio.wait_for(wait_for_gate(FLOW_NAME, since, 0.05), 600)
    before = await _mutations(control)
    clicked, _, response = await _click(slack, webhook)
    not_paused = first_change = None
    async with get_client() as client:
        while first_change is None:
            now = time.perf_counter() - clicked
            if now > CLICK_DEADLINE_SECONDS:
                run_task.cancel()
                raise TimeoutError(f"no change {now:.0f} s after the click: {response.text}")
            if not_paused is None:
                run = await client.read_flow_run(paused.id)
                if run.state is not None and not run.state.is_paused():
                    not_paused = time.perf_counter() - clicked
            if await _mutations(control) > before:
                first_change = now
                not_paused = not_paused if not_paused is not None else now
            if run_task.done():
                run_task.result()  # surfaces a failed run
            await asyncio.sleep(SAMPLE_SECONDS)
    outcome = await run_task
    await control.aclose()
    if outcome.status.value != "completed":
        raise RuntimeError(f"restrict-project ended {outcome.status.value}, not completed")
    return {"to_not_paused": not_paused, "to_first_change": first_change}


async def _deployment() -> Any:
    """restrict-project deployed to the process pool, as prefect.yaml deploys it."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    async with get_client() as client:
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        return await client.create_deployment(
            flow_id=await client.create_flow_from_name(FLOW_NAME),
            name=FLOW_NAME,
            entrypoint=ENTRYPOINT,
            path=str(ROOT),
            work_pool_name=POOL,
            pull_steps=[
                {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
            ],
        )


def _worker(poll: str, log: Path) -> contextlib.AbstractContextManager[None]:
    """``prefect worker start --pool`` against this bench's server, polling every ``poll`` s."""
    env = prefect_env()
    env.pop(QUERY_SECONDS_ENV, None)
    if poll != DEFAULT_POLL:
        env[QUERY_SECONDS_ENV] = poll
    return process_worker(POOL, log, env)


async def _state_until(
    client: Any, run_id: Any, done: Any, deadline: float, what: str
) -> Any:
    """Read the run until ``done(run)``; a final state that is not wanted is an error."""
    while True:
        run = await client.read_flow_run(run_id)
        if run.state is not None and done(run):
            return run
        if run.state is not None and run.state.is_final():
            raise RuntimeError(f"run {run_id} ended {run.state.name} waiting for {what}")
        if time.perf_counter() > deadline:
            raise TimeoutError(f"run {run_id} not {what}: {run.state.name if run.state else '-'}")
        await asyncio.sleep(DEPLOYMENT_SAMPLE_SECONDS)


async def _input_form_saved(client: Any, run_id: Any, deadline: float, name: str) -> Any:
    """The run once waiting at the gate (state ``name``) with its answer form saved.

    Prefect sets Paused or Suspended first and saves the run's input schema after; a resume in
    between is refused ("Run input schema not found."; the click handler tries again for a few
    seconds), so the click waits for the schema, as a person's click (seconds later) does.
    """
    from prefect.exceptions import PrefectHTTPStatusError

    run = await _state_until(
        client, run_id, lambda r: r.state.is_paused() and r.state.name == name,
        deadline, name,
    )
    key = run.state.state_details.run_input_keyset["schema"]
    while True:
        try:
            await client.read_flow_run_input(run_id, key)
            return run
        except PrefectHTTPStatusError as ex:
            if ex.response.status_code != 404:
                raise
            if time.perf_counter() > deadline:
                raise TimeoutError(f"run {run_id}: no input schema {key}") from None
            await asyncio.sleep(DEPLOYMENT_SAMPLE_SECONDS)


async def _deployment_click(
    emulator: EmulatorProcess,
    slack: Any,
    webhook: httpx.AsyncClient,
    spec: dict[str, Any],
    deployment_id: Any,
    hold: str,
    rate_limit: bool = False,
) -> dict[str, float]:
    """One deployment run, held or suspended at the gate, answered by one click; in s."""
    from prefect import get_client
    from prefect.client.schemas.objects import StateType

    await _save_policy(emulator, slack, hold, rate_limit)
    suspends = hold == "0"
    async with (
        httpx.AsyncClient(
            base_url=f"{emulator.base_url}/_emulator", timeout=30, trust_env=False
        ) as control,
        get_client() as client,
    ):
        created = await client.create_flow_run_from_deployment(
            deployment_id, parameters={"spec": spec}
        )
        start = time.perf_counter()
        await _input_form_saved(
            client, created.id, start + CLICK_DEADLINE_SECONDS,
            "Suspended" if suspends else "Paused",
        )
        to_waiting = time.perf_counter() - start
        before = await _mutations(control)
        clicked, clicked_at, response = await _click(slack, webhook)
        marks: dict[str, float] = {}
        while "to_first_change" not in marks:
            now = time.perf_counter() - clicked
            if now > CLICK_DEADLINE_SECONDS:
                raise TimeoutError(f"no change {now:.0f} s after the click: {response.text}")
            run = await client.read_flow_run(created.id)
            state = run.state
            if state is not None and "to_not_paused" not in marks and not state.is_paused():
                marks["to_not_paused"] = now
            if state is not None and "to_running" not in marks and state.type in (
                StateType.RUNNING, StateType.COMPLETED
            ):
                marks["to_running"] = now
            if await _mutations(control) > before:
                marks["to_first_change"] = now
            if state is not None and state.is_final() and "to_first_change" not in marks:
                raise RuntimeError(f"run {created.id} ended {state.name} with no change")
            await asyncio.sleep(DEPLOYMENT_SAMPLE_SECONDS)
        for name in ("to_not_paused", "to_running"):
            marks.setdefault(name, marks["to_first_change"])
        final = await _state_until(
            client, created.id, lambda r: r.state.is_final(),
            time.perf_counter() + CLICK_DEADLINE_SECONDS, "final",
        )
        if final.state.type is not StateType.COMPLETED:
            raise RuntimeError(f"restrict-project ended {final.state.name}, not Completed")
        history = await client.read_flow_run_states(created.id)
    after = [st for st in history if st.timestamp and st.timestamp >= clicked_at]
    assert final.state.timestamp is not None
    # The goal's measure: the click to the run Completed (verified and reported).
    marks["server_click_to_completed"] = (final.state.timestamp - clicked_at).total_seconds()
    if not suspends:
        if any(st.type is StateType.PENDING for st in after) or any(
            st.name == "Suspended" for st in history
        ):
            raise RuntimeError(f"run {created.id} left its process: the click missed the hold")
        return {"to_waiting": to_waiting, **marks}
    # The server's own timestamps split the wait: the worker's poll (click to Pending),
    # the new flow-run process starting (Pending to Running), the flow re-entering.
    pending = next(st.timestamp for st in after if st.type is StateType.PENDING)
    running = next(st.timestamp for st in after if st.type is StateType.RUNNING)
    return {
        "to_waiting": to_waiting,
        **marks,
        "server_click_to_pending": (pending - clicked_at).total_seconds(),
        "server_pending_to_running": (running - pending).total_seconds(),
    }


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 3)


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": _p(values, 0.5),
        "p95": _p(values, 0.95),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }


def _figures(rounds: list[dict[str, float]], load_before: float) -> dict[str, Any]:
    return {
        "clicks": len(rounds),
        "load_avg_1m_before": round(load_before, 2),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        **{f"{k}_seconds": _summary([r[k] for r in rounds]) for k in rounds[0]},
        "rounds": [{k: round(v, 3) for k, v in r.items()} for r in rounds],
    }


@contextlib.asynccontextmanager
async def _services(inbox: Path) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The Slack emulator (Alice in arize-approvers) and the webhook service, in-process."""
    from prefect.settings import PREFECT_API_URL

    from emulator.slack import SlackEmulatorServer
    from webhooks.app import create_app
    from webhooks.settings import Settings

    slack = SlackEmulatorServer()
    slack.start()
    try:
        slack.add_user(ALICE, "alice", "alice@acme.example")
        slack.add_usergroup("S0APPROVERS", "arize-approvers", [ALICE])
        settings = Settings(
            environment="test",
            slack_signing_secret=SIGNING_SECRET,
            slack_bot_token=BOT_TOKEN,
            slack_base_url=slack.base_url,
            prefect_api_url=PREFECT_API_URL.value(),
            forwarder_enabled=False,
            inbox_url=f"sqlite+aiosqlite:///{inbox}",
        )
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://webhooks.bench") as c:
            yield slack, c
    finally:
        slack.stop()


async def _run(
    emulator: EmulatorProcess,
    clicks: int,
    polls: list[str],
    holds: list[str],
    modes: list[str],
    tmp: Path,
    rate_limits: list[str] | None = None,
) -> dict[str, Any]:
    spec = yaml.safe_load(EXAMPLE.read_text())
    figures: dict[str, Any] = {}
    async with _services(tmp / f"{uuid.uuid4().hex}.db") as (slack, webhook):
        if "local" in modes:
            load = os.getloadavg()[0]
            rounds = [await _one_click(emulator, slack, webhook, spec) for _ in range(clicks)]
            figures["local"] = {
                "mode": "local pause in the flow's process, woken by its Running event",
                "poll_interval_seconds": _default_poll_seconds(),
                **_figures(rounds, load),
            }
        if "deployment" in modes:
            deployment_id = await _deployment()
            await _create_rate_limit()
            figures["deployment"] = {}
            for poll in polls:
                with _worker(poll, tmp / f"worker-{poll}.log"):
                    for hold, limited in itertools.product(holds, rate_limits or ["off"]):
                        load = os.getloadavg()[0]
                        rounds = [
                            await _deployment_click(
                                emulator, slack, webhook, spec, deployment_id, hold,
                                limited == "on",
                            )
                            for _ in range(clicks)
                        ]
                        mode = (
                            "suspends at the gate (hold 0)"
                            if hold == "0"
                            else "holds at the gate in its process; the click is in the hold"
                        )
                        key = f"worker_poll_{poll}_hold_{hold}" + (
                            "_rate_limit_on" if limited == "on" else ""
                        )
                        figures["deployment"][key] = {
                            "rate_limit": f"{RATE_LIMIT} (10/s)" if limited == "on" else None,
                            "mode": f"deployment run on a process worker; {mode}",
                            "worker_query_seconds": poll
                            if poll != DEFAULT_POLL
                            else "10 (default)",
                            "hold_seconds": hold if hold != DEFAULT_HOLD else "300 (default)",
                            **_figures(rounds, load),
                        }
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the clicks on one emulator process and one Prefect test server; write the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.approval_latency")
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument(
        "--modes", default="local,deployment", help="comma-separated: local, deployment"
    )
    parser.add_argument(
        "--worker-poll", default=f"{DEFAULT_POLL},1,2",
        help=f"worker poll intervals in seconds for deployment mode; {DEFAULT_POLL!r}: "
        "Prefect's own",
    )
    parser.add_argument(
        "--hold", default=f"{DEFAULT_HOLD},0",
        help=f"approval hold_seconds for deployment mode; {DEFAULT_HOLD!r}: the policy's own",
    )
    parser.add_argument(
        "--rate-limit", default="off,on",
        help="deployment mode without and with setup's arize-api limit (10/s): off, on",
    )
    parser.add_argument("--out", default=str(RESULTS), help="where to write the figures")
    args = parser.parse_args([] if argv is None else argv)
    rate_limits = [r.strip() for r in args.rate_limit.split(",") if r.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    polls = [p.strip() for p in args.worker_poll.split(",") if p.strip()]
    holds = [h.strip() for h in args.hold.split(",") if h.strip()]

    from prefect.testing.utilities import prefect_test_harness

    os.environ.setdefault(SERVICE_KEY_ENV, f"bench-service-key-{uuid.uuid4().hex}")
    load_before = [round(x, 2) for x in os.getloadavg()]
    with (
        tempfile.TemporaryDirectory(prefix="approval-bench-") as tmp,
        emulator_process() as emulator,
        prefect_test_harness(server_startup_timeout=120),
    ):
        figures = asyncio.run(_run(
            emulator, args.clicks, polls, holds, modes, Path(tmp), rate_limits
        ))
    figures = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_avg_1_5_15_before": load_before,
        "load_avg_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
        **figures,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
