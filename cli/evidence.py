"""``arize-runbooks evidence``: verify the evidence chain, export it for an auditor, publish
its head.

All three read the chain straight from the service's database (``--db``, default
``ARIZE_RUNBOOKS_INBOX_URL``): an auditor's read-only role is enough.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from cli.errors import CliError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

app = typer.Typer(help="Verify, export and publish the evidence chain.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

T = TypeVar("T")


class ExportFormat(StrEnum):
    """What ``evidence export`` writes."""

    CSV = "csv"
    JSONL = "jsonl"

DbUrl = Annotated[
    str | None,
    typer.Option("--db", help="Service database URL (default: ARIZE_RUNBOOKS_INBOX_URL)."),
]


def _db_url(db: str | None) -> str:
    from cli.serve import load_settings

    return db or load_settings().inbox_url


def _with_engine(db: str | None, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    async def main() -> T:
        engine = create_async_engine(_db_url(db), poolclass=NullPool, hide_parameters=True)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _parse_head(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise CliError(
            f"--head {value!r} is not SEQ:HASH",
            fix="copy it from a published head, e.g. --head 1234:<64 hex digits>",
        )
    return int(seq), digest


def _parse_day(option: str, value: str | None, *, end: bool) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(
            f"{option} {value!r} is not a date or time",
            fix=f"write {option} 2026-01-01 or {option} 2026-01-01T09:00:00+00:00",
        ) from None
    if len(value) == 10:  # a day: --to includes it
        parsed = datetime.combine(date.fromisoformat(value), time.min)
        if end:
            parsed += timedelta(days=1)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command("verify")
def verify_command(
    head: Annotated[
        str | None,
        typer.Option(help="A published head SEQ:HASH the chain must still contain."),
    ] = None,
    db: DbUrl = None,
) -> None:
    """Recompute the hash chain; name the first broken row (exit 2) or print the head."""
    from webhooks.evidence.export import verify

    expected = _parse_head(head)
    check = _with_engine(db, lambda engine: verify(engine, expected))
    if not check.ok:
        err.print(f"[bold red]{check.describe()}[/]")
        raise typer.Exit(2)
    out.print(f"[green]{check.describe()}[/]")


@app.command("export")
def export_command(
    start: Annotated[
        str | None, typer.Option("--from", help="First day or time (UTC unless given).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day (included) or time (excluded).")
    ] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or jsonl.")] = (
        ExportFormat.CSV
    ),
    output: Annotated[
        Path | None, typer.Option(help="Write here instead of standard output.")
    ] = None,
    leavers: Annotated[
        bool, typer.Option("--leavers", help="One row per leaver: HR event to revocation.")
    ] = False,
    db: DbUrl = None,
) -> None:
    """One row per change (or per leaver), after a population and completeness line."""
    from webhooks.evidence.export import Population, export

    first, last = _parse_day("--from", start, end=False), _parse_day("--to", end, end=True)

    async def work(engine: AsyncEngine) -> Population:
        with contextlib.ExitStack() as stack:
            target = sys.stdout if output is None else stack.enter_context(
                output.open("w", newline="")
            )
            return await export(
                engine, target, fmt=fmt.value, start=first, end=last, per_leaver=leavers
            )

    population = _with_engine(db, work)
    err.print(population.describe())
    if not population.check.ok:
        raise typer.Exit(2)


@app.command("publish-head")
def publish_head_command(
    channel: Annotated[
        str | None,
        typer.Option(help="Slack channel (default ARIZE_RUNBOOKS_EVIDENCE_HEAD_CHANNEL)."),
    ] = None,
    file: Annotated[
        Path | None, typer.Option(help="File to append to (default ..._EVIDENCE_HEAD_FILE).")
    ] = None,
    db: DbUrl = None,
) -> None:
    """Verify the chain and publish its head to Slack and/or a file, once."""
    from blocks.slack import slack_web_client
    from cli.serve import load_settings
    from webhooks.evidence.publish import head_text, publish_head

    settings = load_settings()
    channel = channel or settings.evidence_head_channel
    file = file or settings.evidence_head_file
    if not channel and file is None:
        raise CliError(
            "nowhere to publish the head",
            fix="pass --channel or --file (or set ARIZE_RUNBOOKS_EVIDENCE_HEAD_CHANNEL / _FILE)",
        )
    slack = None
    if channel:
        if settings.slack_bot_token is None:
            raise CliError(
                f"--channel {channel} needs the Slack bot token",
                fix="set ARIZE_RUNBOOKS_SLACK_BOT_TOKEN (`arize-runbooks setup` writes it)",
            )
        token = settings.slack_bot_token.get_secret_value()
        slack = slack_web_client(token, settings.slack_base_url)
    check = _with_engine(
        db or settings.inbox_url,
        lambda engine: publish_head(engine, slack=slack, channel=channel, file=file),
    )
    out.print(head_text(check, datetime.now(UTC)))
    if not check.ok:
        raise typer.Exit(2)
