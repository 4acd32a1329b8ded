"""Benchmark: a signed Slack click on an approval message until the paused run runs again.

Each round resets the Arize emulator, starts restrict-project (its plan is destructive, so it
posts to the Slack emulator and pauses at the gate), and once the run is Paused sends Alice's
signed "approve" click to the webhook service's interactivity endpoint. Two latencies per click:

- ``to_not_paused``: until the Prefect API shows the run out of Paused (the handler resumed it);
- ``to_first_change``: until the run's first mutating Arize request (the flow noticed the
  resume, re-checked the votes and the plan, and applied).

The run pauses in-process (``apause_flow_run``), which polls its state every
``poll_interval_seconds`` of the policy: that is the floor of ``to_first_change``; measured
here at 1 s. Writes bench/results/approval_latency.json. Asserts nothing.

    python -m bench.approval_latency --clicks 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench._emulator import EmulatorProcess, emulator_process

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "restrict-project.yaml"
RESULTS = Path(__file__).parent / "results" / "approval_latency.json"
POLL_INTERVAL_SECONDS = 1
SAMPLE_SECONDS = 0.02
# Bench-only Slack credentials: the Slack emulator accepts any token it is configured with.
BOT_TOKEN = "xoxb-bench-0000000000-benchbottoken"
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
ALICE = "U0ALICE"
# The webhook service signs votes with this key; a bench-only value when none is set.
SERVICE_KEY_ENV = "ARIZE_RUNBOOKS_SERVICE_KEY"
CLICK_DEADLINE_SECONDS = 300
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


async def _mutations(control: httpx.AsyncClient) -> int:
    by_route = (await control.get("/requests")).json()["by_route"]
    return sum(n for route, n in by_route.items() if route.split(" ", 1)[0] in MUTATING)


async def _one_click(
    emulator: EmulatorProcess, slack: Any, webhook: httpx.AsyncClient, spec: dict[str, Any]
) -> dict[str, float]:
    """One gated run answered by one click; the two latencies in seconds."""
    from prefect import get_client

    from blocks.arize import ArizeCredentials
    from blocks.key_store import ArizeKeyStore
    from blocks.policy import RunbookPolicy
    from blocks.slack import SlackApprovals
    from cli.approvals import wait_for_gate
    from emulator.slack.interactions import build_click
    from flows.restrict_project.flow import restrict_project
    from tasks.approvals.policy import ApprovalPolicy

    admin_key = emulator.reset("demo")
    await RunbookPolicy(
        credentials=ArizeCredentials(api_key=admin_key, base_url=emulator.base_url),
        approvals=SlackApprovals(
            bot_token=BOT_TOKEN, channel="#arize-approvals", base_url=slack.base_url
        ),
        approval=ApprovalPolicy(
            approver_group="arize-approvers", quorum=1, timeout_seconds=600
        ),
        key_store=ArizeKeyStore(prefix="bench-approval"),
        poll_interval_seconds=POLL_INTERVAL_SECONDS,
        rate_limit=None,
    ).asave("default", overwrite=True)
    control = httpx.AsyncClient(
        base_url=f"{emulator.base_url}/_emulator", timeout=30, trust_env=False
    )
    since = datetime.now(UTC)
    run_task = asyncio.create_task(restrict_project(spec=spec))
    paused = await asyncio.wait_for(wait_for_gate("restrict-project", since, 0.05), 600)
    before = await _mutations(control)
    click = build_click(slack.state, signing_secret=SIGNING_SECRET, user_id=ALICE)
    clicked = time.perf_counter()
    response = await webhook.post(
        "/slack/interactions", content=click.body, headers=click.headers
    )
    response.raise_for_status()
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


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 3)


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": _p(values, 0.5),
        "p95": _p(values, 0.95),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }


async def _run(emulator: EmulatorProcess, clicks: int, inbox: Path) -> dict[str, Any]:
    from emulator.slack import SlackEmulatorServer
    from webhooks.app import create_app
    from webhooks.settings import Settings

    spec = yaml.safe_load(EXAMPLE.read_text())
    slack = SlackEmulatorServer()
    slack.start()
    try:
        slack.add_user(ALICE, "alice", "alice@acme.example")
        slack.add_usergroup("S0APPROVERS", "arize-approvers", [ALICE])
        from prefect.settings import PREFECT_API_URL

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
        rounds = []
        async with httpx.AsyncClient(transport=transport, base_url="http://webhooks.bench") as c:
            for _ in range(clicks):
                rounds.append(await _one_click(emulator, slack, c, spec))
    finally:
        slack.stop()
    return {
        "clicks": clicks,
        "poll_interval_seconds": POLL_INTERVAL_SECONDS,
        "mode": "local pause (apause_flow_run in the flow's process)",
        "to_not_paused_seconds": _summary([r["to_not_paused"] for r in rounds]),
        "to_first_change_seconds": _summary([r["to_first_change"] for r in rounds]),
        "rounds": [{k: round(v, 3) for k, v in r.items()} for r in rounds],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the clicks on one emulator process and one Prefect test server; write the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.approval_latency")
    parser.add_argument("--clicks", type=int, default=20)
    args = parser.parse_args([] if argv is None else argv)

    from prefect.testing.utilities import prefect_test_harness

    os.environ.setdefault(SERVICE_KEY_ENV, f"bench-service-key-{uuid.uuid4().hex}")
    load_before = [round(x, 2) for x in os.getloadavg()]
    with (
        tempfile.TemporaryDirectory(prefix="approval-bench-") as tmp,
        emulator_process() as emulator,
        prefect_test_harness(server_startup_timeout=120),
    ):
        figures = asyncio.run(_run(emulator, args.clicks, Path(tmp) / f"{uuid.uuid4().hex}.db"))
    figures = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_avg_1_5_15_before": load_before,
        "load_avg_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
        **figures,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
