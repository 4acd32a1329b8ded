"""What a person sees while ``arize-runbooks run`` works: the phase, then a progress bar.

The flow runs in this process, so the apply reports each finished change through
:data:`tasks.steps.progress.listener`; the approval phase is seen by polling Prefect for the
run's pause. Every change is still a task run in the Prefect UI: this is only a view of it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from core.planning.plan import Change
from tasks.steps.progress import listener

err = Console(stderr=True)


def quiet_prefect_console() -> None:
    """Keep Prefect's own console log lines (and their tracebacks) off the terminal.

    The lines still reach the Prefect API, so the UI shows every log of the run; ``--debug``
    leaves the console handler alone.
    """
    from prefect.logging.handlers import PrefectConsoleHandler

    from cli.errors import debugging

    if debugging():
        return
    loggers = [logging.getLogger(), *(
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
        if name.startswith(("prefect", "uvicorn", "fastapi"))
    )]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.setLevel(logging.CRITICAL + 1)


@dataclass
class RunView:
    """The live view of one run: phase line, then the apply's bar (changes done / total)."""

    runbook: str
    console: Console = field(default_factory=lambda: err)
    enabled: bool = True
    failures: list[str] = field(default_factory=list)
    done: int = 0
    total: int | None = None
    paused_run: str | None = None
    phases: list[str] = field(default_factory=list)
    plan: Any = None

    def __post_init__(self) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            disable=not self.enabled,
            transient=False,
        )
        self.task = self.progress.add_task("", total=None, failed="")
        self.phase("planning (read-only)")

    def __enter__(self) -> RunView:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def phase(self, text: str) -> None:
        """Show what the run is doing now."""
        self.phases.append(text)
        self.progress.update(self.task, description=f"{self.runbook}: {escape(text)}")

    # ApplyListener ------------------------------------------------------------------

    def planned(self, plan: Any) -> None:
        """The run's plan, as published (kept for a dry run's summary)."""
        self.plan = plan

    def started(self, total: int) -> None:
        """The apply began with ``total`` changes."""
        self.total = total
        self.phase("applying")
        self.progress.update(self.task, total=total, completed=0)
        self.progress.reset(self.task, total=total, failed="")

    def finished(self, change: Change, error: BaseException | None) -> None:
        """One change is done (or failed after its retries)."""
        self.done += 1
        if error is not None:
            self.failures.append(f"{change.describe()}: {error}")
        failed = f"{len(self.failures)} failed" if self.failures else ""
        self.progress.update(self.task, advance=1, failed=failed)
        if self.total is not None and self.done >= self.total:
            self.phase("verifying and reporting")


async def watch_gate(view: RunView, since: datetime, ui_url: str | None) -> None:
    """Say so when the run pauses for approval, with every way to answer it."""
    from cli.approvals import wait_for_gate

    run = await wait_for_gate(view.runbook, since, poll_seconds=1.0)
    view.paused_run = str(run.id)
    view.phase("waiting for approval")
    where = f"the Prefect UI ({ui_url}/runs/flow-run/{run.id}), " if ui_url else ""
    view.progress.console.print(
        f"[yellow]approval needed[/]: answer in Slack, {where}or "
        f"[bold]arize-runbooks approve {run.id}[/] / [bold]reject {run.id}[/]"
    )


@dataclass
class RunResult:
    """How the run ended, as the CLI reports it."""

    state: Any
    run_id: str | None
    outcome: Any = None
    error: BaseException | None = None
    view: RunView | None = None

    @property
    def failures(self) -> list[str]:
        """The changes that failed after their retries, as the apply reported them."""
        return self.view.failures if self.view else []


async def run_with_view(
    flow: Any, spec: Any, *, dry_run: bool, policy: str, show: bool, ui_url: str | None,
    console: Console | None = None,
) -> RunResult:
    """Run the flow in this process with the live view; never raises for a failed run."""
    since = datetime.now(UTC)
    with RunView(flow.name, console=console or err, enabled=show) as view:
        token = listener.set(view)
        try:
            # The tasks copy this context: the apply inside the flow sees the listener.
            running = asyncio.create_task(
                flow(spec=spec, dry_run=dry_run, policy=policy, return_state=True)
            )
            gate = asyncio.create_task(watch_gate(view, since, ui_url)) if show else None
        finally:
            listener.reset(token)
        try:
            state = await running
        finally:
            if gate is not None:
                gate.cancel()
    run_id = str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None
    if state.is_completed():
        return RunResult(state, run_id, outcome=await state.aresult(), view=view)
    error = await state.aresult(raise_on_failure=False)
    if not isinstance(error, BaseException):
        error = RuntimeError(state.message or state.name)
    return RunResult(state, run_id, error=error, view=view)
