"""``arize-runbooks run RUNBOOK SPEC.yaml``: run one runbook from a spec file, locally.

The run talks to whatever Prefect API ``PREFECT_API_URL`` names, and pauses at its approval
gate like any local run: answer it with ``arize-runbooks approve RUN_ID``, the Prefect UI or
Slack.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path

import typer
import yaml
from rich.console import Console

from flows.registry import REGISTRY, get, help_text

console = Console()

RunbookName = StrEnum("RunbookName", {r.module: r.name for r in REGISTRY})  # type: ignore[misc]
"""The registry's runbook names, as the choices typer offers and checks."""


def run(
    runbook: RunbookName = typer.Argument(
        help="Which runbook; each is listed above.", show_default=False
    ),
    spec_file: Path = typer.Argument(exists=True, dir_okay=False, help="The spec, as YAML."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan only; change nothing."),
    policy: str = typer.Option("default", help="Name of the saved runbook policy block."),
) -> None:
    flow = get(runbook.value).flow
    spec = yaml.safe_load(spec_file.read_text())
    outcome = asyncio.run(flow(spec=spec, dry_run=dry_run, policy=policy))
    console.print_json(outcome.model_dump_json())


run.__doc__ = "Run a runbook from a YAML spec and print its outcome.\n\n" + help_text()
