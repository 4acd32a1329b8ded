"""``arize-runbooks run RUNBOOK SPEC.yaml``: run one runbook from a spec file, in this process.

The spec is validated and Prefect, the policy and Arize are checked before the run exists;
then the run shows its phase and a progress bar, and ends with a summary and its UI link
(``--output json`` prints the outcome instead). It pauses at its approval gate like any run:
answer it in Slack, the Prefect UI or with ``arize-runbooks approve RUN_ID``.
"""

from __future__ import annotations

import asyncio
import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from cli.errors import EXIT_BUG, CliError, exit_with, explain
from flows.registry import REGISTRY, get, help_text

console = Console()
err = Console(stderr=True)

RunbookName = StrEnum("RunbookName", {r.module: r.name for r in REGISTRY})  # type: ignore[misc]
"""The registry's runbook names, as the choices typer offers and checks."""


class Output(StrEnum):
    """How the outcome is printed."""

    TEXT = "text"
    JSON = "json"


def run(
    runbook: RunbookName = typer.Argument(
        help="Which runbook; each is listed above.", show_default=False
    ),
    spec_file: Path = typer.Argument(exists=True, dir_okay=False, help="The spec, as YAML."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan only; change nothing."),
    policy: str = typer.Option("default", help="Name of the saved runbook policy block."),
    output: Output = typer.Option(
        Output.TEXT, help="text: progress and a summary; json: the outcome, for scripts."
    ),
) -> None:
    from cli.progress import quiet_prefect_console, run_with_view
    from cli.specs import load_spec

    record = get(runbook.value)
    spec = load_spec(spec_file, record.spec)
    quiet_prefect_console()

    async def main() -> Any:
        from prefect.settings import PREFECT_UI_URL

        from cli.preflight import preflight

        await preflight(policy)
        return await run_with_view(
            record.flow, spec, dry_run=dry_run, policy=policy,
            show=output is Output.TEXT, ui_url=PREFECT_UI_URL.value(),
        )

    result = asyncio.run(main())
    url = _run_url(result.run_id)
    if result.error is not None:
        _failed(result, url, output)
    outcome = result.outcome
    if output is Output.JSON:
        typer.echo(json.dumps({**outcome.model_dump(mode="json"), "flow_run_id": result.run_id,
                               "url": url}, indent=2))
    else:
        if outcome.status.value == "dry run" and result.view is not None:
            _print_plan(result.view.plan, url)
        _summary(outcome, url)
    if outcome.status.value in {"rejected", "failed"}:
        raise typer.Exit(EXIT_BUG)


run.__doc__ = "Run a runbook from a YAML spec and print its outcome.\n\n" + help_text()


def _run_url(run_id: str | None) -> str | None:
    from prefect.settings import PREFECT_UI_URL

    base = PREFECT_UI_URL.value()
    return f"{base}/runs/flow-run/{run_id}" if base and run_id else None


PLAN_LINES_SHOWN = 200
"""A dry run prints this many lines of its plan; the rest are in the run's plan artifact."""

LEGEND = (
    "legend: + a change the run would make · ! a destructive change (needs approval) · "
    "= already in place, nothing to do · [n] the stage a change runs in (stages run in order)"
)


def _print_plan(plan: Any, url: str | None) -> None:
    """A dry run's plan, change by change, then what its markers mean."""
    if plan is None:
        return
    from rich.markup import escape

    lines = plan.render_text().splitlines()
    for line in lines[:PLAN_LINES_SHOWN]:
        console.print(escape(line), highlight=False)
    if len(lines) > PLAN_LINES_SHOWN:
        where = f" (the run's plan artifact: {url})" if url else " (the run's plan artifact)"
        console.print(f"  … {len(lines) - PLAN_LINES_SHOWN} more line(s){where}")
    console.print(escape(LEGEND), style="dim", highlight=False)


def _summary(outcome: Any, url: str | None) -> None:
    colour = {"completed": "green", "no changes": "green", "dry run": "cyan"}.get(
        outcome.status.value, "red"
    )
    console.print(f"[bold {colour}]{outcome.status.value}[/]: {outcome.runbook} · "
                  f"{outcome.subject} · plan {outcome.plan_hash[:12]}")
    console.print(f"  {outcome.planned} planned, {outcome.applied} applied, {outcome.already} "
                  f"already in place, {outcome.api_calls} API calls")
    if outcome.approver:
        console.print(f"  approved by {outcome.approver}")
    for note in outcome.notes:
        console.print(f"  note: {note}")
    if url:
        console.print(f"  flow run: {url}")


def _failed(result: Any, url: str | None, output: Output) -> None:
    problem = explain(result.error)
    if output is Output.JSON:
        body = (problem or CliError(str(result.error))).as_dict()
        typer.echo(json.dumps({**body, "flow_run_id": result.run_id, "url": url}, indent=2))
        raise typer.Exit(2 if problem else EXIT_BUG)
    for line in result.failures:
        err.print(f"  [red]failed[/]: {line}")
    if url:
        err.print(f"flow run: {url}")
    raise exit_with(result.error)
