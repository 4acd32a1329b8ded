"""``arize-runbooks inbox``: list, show and replay the webhook service's stored events; migrate
its schema; print its figures."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Inspect and replay webhook deliveries.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

InboxUrl = Annotated[
    str | None,
    typer.Option(help="Inbox database URL (default: ARIZE_RUNBOOKS_INBOX_URL or SQLite file)."),
]


def _inbox_url(inbox_url: str | None) -> str:
    from cli.serve import load_settings

    return inbox_url or load_settings().inbox_url


def _status_style(status: str) -> str:
    return {"forwarded": "green", "dead": "red", "pending": "yellow"}.get(status, "")


@app.command("list")
def list_events(
    status: Annotated[
        str | None, typer.Option(help="Only events in this status: pending, forwarded, dead.")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Only events of this source.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    inbox_url: InboxUrl = None,
) -> None:
    """List stored events, newest first."""
    from webhooks.inbox import Inbox
    from webhooks.inbox_records import EventStatus

    try:
        wanted = EventStatus(status) if status else None
    except ValueError:
        err.print(f"[red]unknown status {status!r}; use pending, forwarded or dead[/red]")
        raise typer.Exit(2) from None

    async def main() -> list[Any]:
        async with Inbox(_inbox_url(inbox_url)) as inbox:
            return await inbox.list(status=wanted, source=source, limit=limit)

    events = asyncio.run(main())
    table = Table(title="webhook inbox", show_lines=False)
    for column in ("id", "source", "event id", "type", "received", "status", "deployment", "note"):
        table.add_column(column, overflow="fold")
    for event in events:
        note = event.last_error or (f"run {event.flow_run_id}" if event.flow_run_id else "")
        if event.batch_key and event.batch_key != event.idempotency_key:
            note += " (batched)"
        table.add_row(
            str(event.id),
            event.source,
            event.event_id,
            event.event_type,
            event.received_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"[{_status_style(event.status)}]{event.status}[/]",
            event.deployment or "",
            note,
        )
    out.print(table)


@app.command("show")
def show(
    event_id: Annotated[int, typer.Argument(help="Inbox id (first column of `inbox list`).")],
    inbox_url: InboxUrl = None,
) -> None:
    """Show one event: status, route, parameters and the stored payload."""
    from webhooks.inbox import Inbox

    async def main() -> Any:
        async with Inbox(_inbox_url(inbox_url)) as inbox:
            return await inbox.get(event_id)

    event = asyncio.run(main())
    if event is None:
        err.print(f"[red]no event {event_id} in the inbox[/red]")
        raise typer.Exit(1)
    table = Table(show_header=False, title=f"event {event.id}")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for name in (
        "source",
        "event_id",
        "delivery_id",
        "event_type",
        "received_at",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "deployment",
        "flow_run_id",
        "batch_key",
    ):
        value = getattr(event, name)
        table.add_row(name, "" if value is None else str(value))
    # A batched event's run is keyed by its batch (every event of it has the same run).
    table.add_row("idempotency key", event.batch_key or event.idempotency_key)
    table.add_row("parameters", json.dumps(event.parameters, indent=2) if event.parameters else "")
    table.add_row("headers", json.dumps(event.headers, indent=2))
    out.print(table)
    out.print_json(json.dumps(event.payload))


@app.command("migrate")
def migrate(
    inbox_url: InboxUrl = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Bring the inbox schema to the newest revision (safe while replicas run or start).

    An inbox created before migrations existed is adopted as it is: no row is touched.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from webhooks.schema import migrate_url

    url = _inbox_url(inbox_url)
    try:
        before, after = asyncio.run(migrate_url(url, revision))
    except (SQLAlchemyError, OSError) as exc:
        err.print(f"[red]cannot migrate the inbox: {type(exc).__name__}: {_safe(exc)}[/red]")
        raise typer.Exit(1) from None
    if before == after:
        out.print(f"inbox schema already at {after}")
    else:
        out.print(f"inbox schema migrated: {before or 'empty'} -> {after}")


def _safe(exc: BaseException) -> str:
    # Driver messages name host and database, never the password; keep the first line only.
    return str(exc).splitlines()[0][:300] if str(exc) else "no message"


@app.command("stats")
def stats(
    inbox_url: InboxUrl = None,
    output: Annotated[
        str, typer.Option("--output", "-o", help="table (default) or json.")
    ] = "table",
) -> None:
    """Inbox depth, claims, dead letters, forward lag and attempts; events by source."""
    if output not in ("table", "json"):
        err.print(f"[red]unknown --output {output!r}; use table or json[/red]")
        raise typer.Exit(2)
    from webhooks.inbox import Inbox

    async def main() -> Any:
        async with Inbox(_inbox_url(inbox_url), migrate=False) as inbox:
            return await inbox.stats()

    figures = asyncio.run(main())
    if output == "json":
        out.print_json(json.dumps(figures.model_dump() | {"depth": figures.depth}))
        return
    summary = Table(title="webhook inbox", show_header=False)
    summary.add_column("figure", style="bold")
    summary.add_column("value", justify="right")
    summary.add_row("depth (pending)", str(figures.pending))
    summary.add_row("claimed by a forwarder", str(figures.claimed))
    summary.add_row("forwarded", str(figures.forwarded))
    summary.add_row("dead letters", f"[red]{figures.dead}[/]" if figures.dead else "0")
    summary.add_row("forward attempts", str(figures.forward_attempts))
    summary.add_row("forward lag (oldest pending, s)", f"{figures.oldest_pending_age_seconds:.1f}")
    out.print(summary)
    by_source = Table(title="events by source")
    by_source.add_column("source")
    for status in ("pending", "forwarded", "dead"):
        by_source.add_column(status, justify="right")
    statuses = ("pending", "forwarded", "dead")
    for source, counts in sorted(figures.by_source_status.items()):
        by_source.add_row(source, *(str(counts.get(s, 0)) for s in statuses))
    out.print(by_source)


@app.command("replay")
def replay(
    event_ids: Annotated[
        list[int] | None, typer.Argument(help="Inbox ids to replay (see `inbox list`).")
    ] = None,
    dead: Annotated[bool, typer.Option("--dead", help="Replay every dead letter.")] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Routing YAML to re-route with (default: settings)."),
    ] = None,
    prefect_api_url: Annotated[
        str | None, typer.Option(help="Prefect API URL (default: settings / Prefect's own).")
    ] = None,
    forward: Annotated[
        bool,
        typer.Option(help="Create the runs now; --no-forward leaves it to the running service."),
    ] = True,
    inbox_url: InboxUrl = None,
) -> None:
    """Make events pending again, re-route them and create their flow runs.

    A replayed event keeps its idempotency key, so an event whose run exists finds that run.
    """
    if not event_ids and not dead:
        err.print("[red]give event ids or --dead[/red]")
        raise typer.Exit(2)
    from cli.serve import load_settings

    settings = load_settings(
        inbox_url=inbox_url, routing_config=config, prefect_api_url=prefect_api_url
    )
    summary, ids = asyncio.run(_replay(settings, event_ids or None, dead=dead, forward=forward))
    if not ids:
        out.print("nothing to replay")
        return
    table = Table(title="replay")
    table.add_column("id")
    table.add_column("outcome")
    outcomes: dict[int, str] = {}
    if summary is not None:
        outcomes.update({i: "[green]forwarded[/]" for i in summary.forwarded})
        outcomes.update({i: "[yellow]pending (retrying)[/]" for i in summary.retrying})
        outcomes.update({i: "[red]dead[/]" for i in summary.dead})
    for i in ids:
        table.add_row(str(i), outcomes.get(i, "pending"))
    out.print(table)
    if summary is not None and summary.dead:
        raise typer.Exit(1)


async def _replay(
    settings: Any, ids: list[int] | None, *, dead: bool, forward: bool
) -> tuple[Any, list[int]]:

    from webhooks.approvals import prefect_client_factory
    from webhooks.forwarder import Forwarder
    from webhooks.inbox import Inbox
    from webhooks.routing import Router, RoutingConfigError

    try:
        router = Router.configured(settings.routing_config)
    except RoutingConfigError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    async with Inbox(settings.inbox_url) as inbox:
        if not forward:
            return None, await inbox.replay(ids, dead=dead)
        # The same client the service uses: its API URL, with Prefect's auth string.
        async with prefect_client_factory(settings.prefect_api_url)() as client:
            forwarder = Forwarder(
                inbox,
                router,
                client,
                concurrency=settings.forwarder_concurrency,
                client_retries=settings.prefect_client_retries,
                lease_seconds=settings.forwarder_lease_seconds,
            )
            # Claimed for this command's forwarder as they turn pending: a running service
            # must not route them with its own (perhaps not yet fixed) routing first.
            replayed = await inbox.replay(
                ids, dead=dead, claim_for=forwarder.name, lease_seconds=forwarder.lease_seconds
            )
            if not replayed:
                return None, replayed
            return await forwarder.forward_once(replayed), replayed
