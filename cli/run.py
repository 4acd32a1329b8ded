"""``arize-runbooks run RUNBOOK SPEC.yaml``: run one runbook from a spec file, locally.

The run talks to whatever Prefect API ``PREFECT_API_URL`` names, and pauses at its approval
gate like any local run: answer it with ``arize-runbooks approve RUN_ID``, the Prefect UI or
Slack.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
import yaml
from rich.console import Console

console = Console()


def run(
    runbook: str = typer.Argument(help="onboard-team, saml-role-mapping, restrict-project, "
                                  "rotate-service-keys or offboard-user."),
    spec_file: Path = typer.Argument(exists=True, dir_okay=False, help="The spec, as YAML."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan only; change nothing."),
    policy: str = typer.Option("default", help="Name of the saved runbook policy block."),
) -> None:
    """Run a runbook from a YAML spec and print its outcome."""
    from flows import RUNBOOKS

    if runbook not in RUNBOOKS:
        raise typer.BadParameter(f"choose one of {', '.join(RUNBOOKS)}", param_hint="RUNBOOK")
    spec = yaml.safe_load(spec_file.read_text())
    outcome = asyncio.run(RUNBOOKS[runbook](spec=spec, dry_run=dry_run, policy=policy))
    console.print_json(outcome.model_dump_json())
