"""``arize-runbooks ha up``: the whole HA shape on one machine, until Ctrl-C.

Two Prefect API servers and a services process on PostgreSQL + Redis, two process workers,
two webhook replicas on one PostgreSQL inbox, and the Arize and Slack emulators. The runbooks
are deployed from prefect.yaml and crash recovery is switched on. Everything stops on Ctrl-C
or when a step fails.
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import time
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Prefect in its HA shape on one machine (PostgreSQL + Redis).")
out = Console()
err = Console(stderr=True)

ARIZE_ADMIN_KEY = "ak-ha-admin-00000000000000000000000000000000"


def redacted(url: str) -> str:
    """``url`` without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@app.command("up")
def up(
    server_dsn: Annotated[
        str, typer.Option(help="PostgreSQL server, postgresql://user[:password]@host:port.")
    ] = "postgresql://postgres@127.0.0.1:5432",
    database: Annotated[
        str, typer.Option(help="Prefect's database (created if missing; never postgres).")
    ] = "arize_runbooks_ha",
    inbox_database: Annotated[
        str, typer.Option(help="The webhook inbox's database (created if missing).")
    ] = "arize_runbooks_ha_inbox",
    redis_url: Annotated[
        str, typer.Option(help="Redis shared by every Prefect process.")
    ] = "redis://127.0.0.1:6379/0",
    api_servers: Annotated[int, typer.Option(min=1, help="Prefect API servers.")] = 2,
    workers: Annotated[int, typer.Option(min=1, help="Process workers.")] = 2,
    webhook_replicas: Annotated[int, typer.Option(min=0, help="Webhook service replicas.")] = 2,
    heartbeat_seconds: Annotated[
        int, typer.Option(min=30, help="Flow-run heartbeat interval (Prefect's minimum: 30).")
    ] = 30,
    missed_heartbeats: Annotated[
        int,
        typer.Option(
            min=2,
            help="Silent heartbeat intervals before a run is crashed and rescheduled; also "
            "how long a flow process may take to start.",
        ),
    ] = 3,
    workdir: Annotated[Path, typer.Option(help="Logs and Prefect home.")] = Path(".ha"),
) -> None:
    """Start the HA stack, print where each piece is, and run until Ctrl-C."""
    import asyncio
    import os

    from config.env_file import load_env_file
    from core.service_key import ENV_VAR

    # The env file `setup` wrote; every process started below inherits it. Without one, a
    # key for this stack alone: the replicas and the workers must share it.
    load_env_file()
    os.environ.setdefault(ENV_VAR, secrets.token_urlsafe(32))

    from emulator.arize import ArizeEmulatorServer
    from emulator.slack import SlackEmulatorServer
    from ops.ha_stack import ROOT, HAOptions, PrefectHAStack
    from ops.postgres import database_url, ensure_database
    from ops.processes import ProcessExited
    from ops.webhook_replicas import WebhookReplicas

    try:
        inbox_url = database_url(server_dsn, inbox_database)
        options = HAOptions(
            server_dsn=server_dsn,
            database=database,
            redis_url=redis_url,
            api_servers=api_servers,
            workers=workers,
            heartbeat_frequency=heartbeat_seconds,
            missed_heartbeats=missed_heartbeats,
        )
        PrefectHAStack(options, workdir.resolve())  # validates the URLs before starting
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None

    # Ctrl-C and SIGTERM both unwind the stack below, which stops every process. SIGINT is set
    # too: a shell starts background jobs with it ignored, and Python then never raises on it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.ExitStack() as stack:
        try:
            arize = ArizeEmulatorServer(seed="demo", admin_key=ARIZE_ADMIN_KEY)
            arize.start()
            stack.callback(arize.stop)
            slack = SlackEmulatorServer()
            slack.start()
            stack.callback(slack.stop)
            out.print("starting Prefect API servers, services and workers (about a minute)…")
            prefect = stack.enter_context(PrefectHAStack(options, workdir.resolve()))
            asyncio.run(_save_policy(prefect.api_urls[0], arize.base_url))
            asyncio.run(ensure_database(server_dsn, inbox_database))
            replicas = stack.enter_context(
                WebhookReplicas(
                    inbox_url,
                    prefect.api_urls,
                    workdir.resolve(),
                    {
                        "ARIZE_RUNBOOKS_ENVIRONMENT": "development",
                        "ARIZE_RUNBOOKS_SLACK_SIGNING_SECRET": secrets.token_hex(16),
                        "ARIZE_RUNBOOKS_SLACK_BOT_TOKEN": f"xoxb-ha-{secrets.token_hex(8)}",
                        "ARIZE_RUNBOOKS_SLACK_BASE_URL": slack.base_url,
                    },
                    count=webhook_replicas,
                    routing_config=ROOT / "examples" / "routing.yaml",
                )
            )
            _print_where(prefect, replicas, arize.base_url, slack.base_url, redis_url, inbox_url)
            while True:
                for process in [*prefect.api_servers, prefect.services, *prefect.workers,
                                *replicas.replicas]:
                    if process is not None:
                        process.check_alive()
                time.sleep(2)
        except KeyboardInterrupt:
            out.print("stopping…")
        except (ProcessExited, TimeoutError, RuntimeError, OSError) as exc:
            err.print(f"[red]HA stack failed: {exc}[/red]")
            raise typer.Exit(1) from None


async def _save_policy(api_url: str, arize_base_url: str) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from blocks.arize import ArizeCredentials
    from blocks.key_store import ArizeKeyStore
    from blocks.policy import RunbookPolicy

    with temporary_settings({PREFECT_API_URL: api_url}):
        await RunbookPolicy(
            credentials=ArizeCredentials(api_key=ARIZE_ADMIN_KEY, base_url=arize_base_url),
            key_store=ArizeKeyStore(prefix="ha"),
        ).asave("default", overwrite=True)


def _print_where(prefect, replicas, arize_url: str, slack_url: str, redis_url: str,
                 inbox_url: str) -> None:
    table = Table(title="arize-runbooks HA stack", show_lines=False)
    table.add_column("piece")
    table.add_column("where")
    table.add_column("log")
    for process, url in zip(prefect.api_servers, prefect.api_urls, strict=True):
        ui = url.removesuffix("/api")
        table.add_row(process.name, f"{ui} (UI and API)", str(process.log_path))
    if prefect.services is not None:
        table.add_row("prefect-services", "scheduler, triggers, automations",
                      str(prefect.services.log_path))
    for worker in prefect.workers:
        table.add_row(worker.name, f"pool arize-runbooks → {worker.env['PREFECT_API_URL']}",
                      str(worker.log_path))
    for replica, url in zip(replicas.replicas, replicas.urls, strict=True):
        table.add_row(replica.name, url, str(replica.log_path))
    table.add_row("PostgreSQL", redacted(prefect.ha.database_url), "")
    table.add_row("inbox", redacted(inbox_url), "")
    table.add_row("Redis", redacted(redis_url), "")
    table.add_row("Arize emulator", arize_url, "")
    table.add_row("Slack emulator", slack_url, "")
    out.print(table)
    out.print("Ctrl-C stops everything.")
