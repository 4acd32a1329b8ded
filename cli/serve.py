"""``arize-runbooks serve``: the webhook service (HR / identity / ticket webhooks, Slack clicks)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

err = Console(stderr=True)


def load_settings(**overrides: Any) -> Any:
    """Settings from the environment with command-line overrides; exits 2 when invalid."""
    from webhooks.settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        err.print("[red]invalid webhook service settings:[/red]")
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            err.print(f"  {where}: {error['msg'].removeprefix('Value error, ')}")
        raise typer.Exit(2) from None


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind; keep loopback behind a proxy.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Routing YAML, e.g. examples/routing.yaml (env: ARIZE_RUNBOOKS_ROUTING_CONFIG).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    inbox_url: Annotated[
        str | None,
        typer.Option(help="Inbox database URL (default: ARIZE_RUNBOOKS_INBOX_URL or SQLite file)."),
    ] = None,
    prefect_api_url: Annotated[
        str | None, typer.Option(help="Prefect API URL (default: Prefect's own settings).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the webhook service: verify deliveries, store them, start one flow run per event."""
    import uvicorn

    from webhooks.app import create_app
    from webhooks.routing import RoutingConfigError

    settings = load_settings(
        routing_config=config, inbox_url=inbox_url, prefect_api_url=prefect_api_url
    )
    try:
        create_app(settings)  # validate the routing config before binding the port
    except RoutingConfigError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None

    def factory() -> Any:
        return create_app(settings)

    uvicorn.run(factory, factory=True, host=host, port=port, log_level=log_level)
