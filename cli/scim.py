"""``arize-runbooks scim``: the IdP's bearer tokens (create, list, revoke) and the log of SCIM
requests with the events and runs each started."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.errors import CliError

app = typer.Typer(
    help="The SCIM endpoint (/scim/v2): tokens and request log.", no_args_is_help=True
)
token_app = typer.Typer(help="Bearer tokens of the identity providers.", no_args_is_help=True)
app.add_typer(token_app, name="token")
out = Console()

DatabaseUrl = Annotated[
    str | None,
    typer.Option(help="Service database URL (default: ARIZE_RUNBOOKS_INBOX_URL or SQLite file)."),
]


def _url(database_url: str | None) -> str:
    from cli.serve import load_settings

    return database_url or load_settings().inbox_url


def _with_engine(database_url: str | None, work: Any) -> Any:
    from webhooks.inbox import Inbox

    async def main() -> Any:
        async with Inbox(_url(database_url)) as inbox:
            return await work(inbox)

    return asyncio.run(main())


@token_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A name for the IdP's token, e.g. okta-prod.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Create a token and print it once (only its digest is stored). Paste it into the IdP."""
    from webhooks.scim import tokens

    try:
        token = _with_engine(database_url, lambda inbox: tokens.create(inbox.engine, name))
    except tokens.TokenError as exc:
        raise CliError(str(exc), where="NAME", fix="pick an unused name") from None
    out.print(f"SCIM token [bold]{name}[/bold] (shown once; give it to the IdP as a bearer token):")
    # Bare on its own line, so it can be copied or piped.
    print(token)


@token_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="The token's name.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a token at once, on every replica."""
    from webhooks.scim import tokens

    try:
        _with_engine(database_url, lambda inbox: tokens.revoke(inbox.engine, name))
    except tokens.TokenError as exc:
        raise CliError(str(exc), where="NAME", fix="`arize-runbooks scim token list`") from None
    out.print(f"revoked SCIM token [bold]{name}[/bold]")


@token_app.command("list")
def list_tokens(database_url: DatabaseUrl = None) -> None:
    """List the tokens (names and dates; never the tokens)."""
    from webhooks.scim import tokens

    found = _with_engine(database_url, lambda inbox: tokens.listed(inbox.engine))
    table = Table(title="SCIM tokens")
    for column in ("name", "created", "revoked"):
        table.add_column(column)
    for token in found:
        revoked = "" if token.revoked is None else f"{token.revoked:%Y-%m-%d %H:%M}"
        table.add_row(token.name, f"{token.created:%Y-%m-%d %H:%M}", revoked)
    out.print(table)


@app.command("log")
def log(
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    database_url: DatabaseUrl = None,
) -> None:
    """The SCIM requests, newest first, each with the events it raised and their flow runs."""
    from sqlalchemy import select

    from webhooks.scim import tables
    from webhooks.scim.publisher import SOURCE

    async def work(inbox: Any) -> list[tuple[Any, list[str]]]:
        async with inbox.engine.connect() as connection:
            rows = list(
                await connection.execute(
                    select(tables.requests).order_by(tables.requests.c.id.desc()).limit(limit)
                )
            )
        found = []
        for row in rows:
            started = []
            for event_id in row.event_ids:
                event = await inbox.find(SOURCE, event_id)
                if event is None:
                    started.append(f"{event_id} (not in the inbox yet)")
                else:
                    run = event.flow_run_id or event.status.value
                    where = event.deployment or event.last_error or ""
                    started.append(f"{event.event_type} {event_id} → {where} {run}")
            found.append((row, started))
        return found

    table = Table(title="SCIM requests")
    for column in ("at", "token", "request", "status", "events → runs"):
        table.add_column(column, overflow="fold")
    for row, started in _with_engine(database_url, work):
        table.add_row(
            f"{row.at:%Y-%m-%d %H:%M:%S}",
            row.token or "-",
            f"{row.method} {row.path}",
            str(row.status),
            "\n".join(started),
        )
    out.print(table)
