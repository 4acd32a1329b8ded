"""``arize-runbooks demo``: every runbook, start to finish, on one machine with no account.

Starts the Arize and Slack emulators, a Prefect server and the webhook service; saves the
blocks; runs every runbook of flows/registry.py, in its order, from its example in examples/;
answers each approval gate through a public path (a signed Slack click, or
``arize-runbooks approve``) and says which; stops everything it started (with ``--keep``, only
at Ctrl-C) and says, last, what it removed.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from cli.stack import APPROVER_ID, LocalStack
from flows.registry import EXAMPLES, REGISTRY, get

console = Console()

#: The demo admin who answers gates from the CLI; the demo policy names them.
DEMO_ADMIN = "demo.admin@acme.example"


SLACK_ANSWERED = frozenset({"onboard-team", "saml-role-mapping", "restrict-project"})
"""Runbooks whose gate the demo answers with a signed Slack click; the rest with the CLI."""


@dataclass(frozen=True)
class Step:
    """One runbook in the demo and how its gate (if any) is answered."""

    runbook: str
    example: str
    answer_with: str  # "slack" or "cli"


STEPS = [
    Step(r.name, r.example_path.name, "slack" if r.name in SLACK_ANSWERED else "cli")
    for r in REGISTRY
    if r.in_demo
]
"""Every runbook the demo can finish on its own, in the registry's order."""


def demo(
    interactive: bool = typer.Option(
        False, "--interactive", help="Answer approval gates yourself instead of the demo."
    ),
    keep: bool = typer.Option(
        False, "--keep",
        help="Leave the stack (Prefect UI, emulators, files) up until Ctrl-C, to look around.",
    ),
) -> None:
    """Run every runbook against the embedded emulators and a local Prefect server."""
    outcomes: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="arize-runbooks-demo-") as workdir:
        console.rule("[bold]arize-runbooks demo")
        with console.status("starting emulators, Prefect server and webhook service…"):
            stack = LocalStack(Path(workdir))
            stack.__enter__()
        try:
            for line in _addresses(stack):
                console.print(line)
            outcomes = _run_with_prefect(stack, interactive)
            _summary(outcomes)
            if keep:
                _wait_for_ctrl_c(stack)
        finally:
            with console.status("stopping everything the demo started…"):
                stack.__exit__(None, None, None)
    # Last, so nobody looks for a link or a file that is gone.
    for line in _removed(stack, kept=keep):
        console.print(line)
    if any(o["status"] in {"failed", "rejected"} for o in outcomes):
        raise typer.Exit(1)


def _addresses(stack: LocalStack) -> list[str]:
    return [
        f"Arize emulator   {stack.arize.base_url}",
        f"Slack emulator   {stack.slack.base_url}",
        f"Prefect UI       {stack.prefect.ui_url} ({stack.prefect_auth_note})",
        f"webhook service  {stack.webhooks.url if stack.webhooks else '-'}",
        f"files            {stack.workdir} (review CSVs, the Prefect database, the inbox)",
    ]


def _wait_for_ctrl_c(stack: LocalStack, pause: Callable[[], object] | None = None) -> None:
    """Keep everything running until the person presses Ctrl-C."""
    console.print(
        f"[bold]--keep[/]: everything stays up; the Prefect UI is {stack.prefect.ui_url} and the "
        f"files are in {stack.workdir}. Press Ctrl-C to stop and remove them."
    )
    try:
        while True:
            (pause or _sleep_a_while)()
    except KeyboardInterrupt:
        console.print("Ctrl-C: stopping.")


def _sleep_a_while() -> None:
    import time

    time.sleep(3600)


def _removed(stack: LocalStack, *, kept: bool) -> list[str]:
    """What stopping the demo took away, for its last lines."""
    lines = [
        "stopped: the Arize emulator, the Slack emulator, the webhook service and the Prefect "
        f"server, so the Prefect UI ({stack.prefect.ui_url}) and the run links above no longer "
        "answer",
        f"deleted: {stack.workdir} (review CSVs, the Prefect database, the webhook inbox)",
    ]
    if not kept:
        lines.append("run `arize-runbooks demo --keep` to keep them up until Ctrl-C")
    return lines


def _run_with_prefect(stack: LocalStack, interactive: bool) -> list[dict[str, Any]]:
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    os.environ["PREFECT_API_URL"] = stack.prefect.api_url
    with temporary_settings(updates={PREFECT_API_URL: stack.prefect.api_url}):
        outcomes = asyncio.run(_demo(stack, interactive))
        # Deliver buffered logs and events while the server still runs.
        APILogWorker.drain_all()
        EventsWorker.drain_all()
    return outcomes


async def _demo(stack: LocalStack, interactive: bool) -> list[dict[str, Any]]:
    await _save_blocks(stack)
    outcomes = []
    for step in STEPS:
        console.rule(f"[bold cyan]{step.runbook}[/] · examples/{step.example}")
        answer = _interactive_answer if interactive else _answerer(step.answer_with, stack)
        outcomes.append(await _run_step(step, stack, answer))
    return outcomes


async def _save_blocks(stack: LocalStack) -> None:
    from prefect import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    from blocks.arize import ArizeCredentials
    from blocks.key_store import ArizeKeyStore
    from blocks.policy import RunbookPolicy
    from blocks.slack import SlackApprovals
    from core.approvals.rules import ApprovalPolicy

    await RunbookPolicy(
        credentials=ArizeCredentials(api_key=stack.arize.admin_key, base_url=stack.arize.base_url),
        slack=SlackApprovals(
            bot_token=stack.bot_token, channel="#arize-approvals", base_url=stack.slack.base_url
        ),
        approval=ApprovalPolicy(
            approver_slack_ids=[APPROVER_ID],
            approver_emails=[DEMO_ADMIN],
            quorum=1,
            timeout_seconds=600,
        ),
        key_store=ArizeKeyStore(prefix="demo"),
        poll_interval_seconds=1,
    ).asave("default", overwrite=True)
    async with get_client() as client:
        await client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name="arize-api", limit=20, slot_decay_per_second=20)
        )
    console.print("saved blocks: policy [bold]default[/] (Arize credentials, Slack approvals, "
                  "key store) and global rate limit [bold]arize-api[/]")


Answer = Callable[[Any], Awaitable[str]]


async def _run_step(step: Step, stack: LocalStack, answer: Answer) -> dict[str, Any]:
    runbook = get(step.runbook)
    flow = runbook.flow
    spec = yaml.safe_load((EXAMPLES / step.example).read_text()) | runbook.demo_spec
    if "output_dir" in runbook.spec.model_fields:
        # Files for auditors go with the demo's other leftovers, not into the working tree.
        spec["output_dir"] = str(stack.workdir / step.runbook)
    since = datetime.now(UTC)
    run = asyncio.create_task(flow(spec=spec, return_state=True))
    gate = asyncio.create_task(_answer_gate(step.runbook, since, answer))
    state = await run
    how = None
    if gate.done() and not gate.cancelled():
        how = gate.result()
    else:
        gate.cancel()
    run_id = state.state_details.flow_run_id
    url = f"{stack.prefect.ui_url}/runs/flow-run/{run_id}"
    if state.is_completed() and hasattr(await state.result(), "review_id"):
        review = await state.result()
        console.print(
            f"[green]completed[/]: review {review.review_id}, {review.items} grants, "
            f"{review.findings} findings; {review.kept} kept ({review.defaulted} by the "
            f"policy default), {review.revoked} revoked; files: {', '.join(review.files)}"
        )
        result = {"runbook": step.runbook, "status": "completed", "planned": review.items,
                  "applied": review.revoked}
    elif state.is_completed():
        outcome = await state.result()
        console.print(
            f"[green]{outcome.status.value}[/]: {outcome.applied} applied, "
            f"{outcome.already} already in place, {outcome.api_calls} API calls"
            + (f", approved by {outcome.approver}" if outcome.approver else "")
        )
        result = {"runbook": step.runbook, "status": outcome.status.value,
                  "planned": outcome.planned, "applied": outcome.applied}
    else:
        console.print(f"[red]{state.name}[/]: {state.message}")
        result = {"runbook": step.runbook, "status": "failed", "planned": 0, "applied": 0}
    if how:
        console.print(f"approval: {how}")
    console.print(f"flow run: {url}")
    return {**result, "approval": how or "not needed", "url": url}


async def _answer_gate(runbook: str, since: datetime, answer: Answer) -> str:
    from cli.approvals import wait_for_gate

    run = await wait_for_gate(runbook, since)
    gate = run.state.state_details.pause_key
    console.print(f"[yellow]run {run.id} waits for approval[/] (gate {gate})")
    return await answer(run)


def _answerer(kind: str, stack: LocalStack) -> Answer:
    async def by_slack(run: Any) -> str:
        response = await asyncio.to_thread(
            stack.slack.click,
            stack.interactions_url,
            signing_secret=stack.signing_secret,
            user_id=APPROVER_ID,
            action_id="approve",
        )
        response.raise_for_status()
        console.print(
            f"Alex Approver ({APPROVER_ID}) clicked Approve in Slack; the signed click went to "
            f"{stack.interactions_url}"
        )
        return "Slack click (signed)"

    async def by_cli(run: Any) -> str:
        command = ["arize-runbooks", "approve", str(run.id), "--as", DEMO_ADMIN,
                   "--comment", "approved by the demo"]
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "cli.main", *command[1:]],
            check=True,
            env={**os.environ},
        )
        console.print("answered with: " + " ".join(command))
        return "arize-runbooks approve"

    return by_slack if kind == "slack" else by_cli


async def _interactive_answer(run: Any) -> str:
    from cli.approvals import answer_gate

    console.print(
        f"Approve in Slack is emulated; answer here, or run "
        f"[bold]arize-runbooks approve {run.id}[/] in another terminal."
    )
    approved = await asyncio.to_thread(typer.confirm, "Approve this plan?", default=False)
    who = os.environ.get("ARIZE_RUNBOOKS_APPROVER", DEMO_ADMIN)
    await answer_gate(run.id, approved=approved, approver=who, comment="answered interactively")
    return f"you ({who}) answered {'approve' if approved else 'reject'} at the terminal"


def _summary(outcomes: list[dict[str, Any]]) -> None:
    table = Table(title="demo summary")
    for column in ("runbook", "status", "planned", "applied", "approval"):
        table.add_column(column)
    for o in outcomes:
        table.add_row(o["runbook"], o["status"], str(o["planned"]), str(o["applied"]),
                      o["approval"])
    console.print(table)
