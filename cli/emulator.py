"""``arize-runbooks emulator``: the local Arize admin API emulator in the foreground, and with
``--slack-port`` the Slack Web API emulator beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli.errors import CliError, exit_with

err = Console(stderr=True)


def emulator(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    host: Annotated[str, typer.Option(help="Interface to bind (keep loopback).")] = "127.0.0.1",
    db: Annotated[
        Path | None,
        typer.Option(help="SQLite file that keeps the account across restarts (default: memory)."),
    ] = None,
    seed: Annotated[
        str,
        typer.Option(
            help="Seed data for a new account: 'demo', 'empty', 'scale' or "
            "'scale:users=5000,bindings=20000' (a big generated account).",
        ),
    ] = "demo",
    admin_key: Annotated[
        str | None,
        typer.Option(
            help="API key of the seeded account admin; generated and printed once when omitted.",
        ),
    ] = None,
    faults: Annotated[
        str | None,
        typer.Option(
            help="Faults to inject: JSON ('{\"error_rate\": 0.1}') or k=v pairs "
            "('latency_ms=50,error_rate=0.1,methods=GET|PUT').",
        ),
    ] = None,
    slack_port: Annotated[
        int | None,
        typer.Option(help="Also run the Slack Web API emulator on this port (point "
                     "ARIZE_RUNBOOKS_SLACK_BASE_URL at http://HOST:PORT/api/)."),
    ] = None,
    slack_channel: Annotated[
        list[str] | None,
        typer.Option(help="Channel the Slack emulator starts with, bot a member (repeatable).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the local Arize admin API emulator (docs/arize-admin-api.md) until interrupted.

    Point the client at ``http://HOST:PORT`` with the admin key. The control plane is under
    ``/_emulator`` (reset, faults, request counts, keys for any user).
    """
    import uvicorn
    from pydantic import ValidationError

    from emulator.arize import FaultConfig, create_app
    from emulator.arize.seed import check_seed

    try:
        check_seed(seed)
    except ValueError as exc:
        raise exit_with(CliError(f"--seed {seed!r}: {exc}", where="--seed",
                                 fix="use demo, empty, scale or scale:users=N,bindings=M"),
                        ) from None
    try:
        fault_config = FaultConfig.parse_cli(faults)
    except (ValidationError, ValueError) as exc:
        raise exit_with(CliError(f"invalid --faults: {exc}", where="--faults",
                                 fix="JSON or k=v pairs, e.g. latency_ms=50,error_rate=0.1"),
                        ) from None
    app = create_app(
        seed=seed,
        admin_key=admin_key,
        db_path=str(db) if db else None,
        faults=fault_config,
    )
    runtime = app.state.emulator
    if slack_port is not None:
        _start_slack(host, slack_port, slack_channel or ["arize-approvals"])
    err.print(f"Arize emulator on http://{host}:{port} (seed={seed}, db={db or 'memory'})")
    if runtime.admin_key_generated:
        # Printed once, on stdout, so `... | head -1` can capture it; never logged.
        typer.echo(f"ARIZE_API_KEY={runtime.admin_key}")
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def _start_slack(host: str, port: int, channels: list[str]) -> None:
    """The Slack emulator in a background thread of this process, until it exits."""
    from emulator.slack import SlackEmulatorServer

    slack = SlackEmulatorServer(host=host, port=port)
    try:
        slack.start()
    except Exception as exc:  # port taken, bad host: say which and stop
        raise exit_with(CliError(f"the Slack emulator cannot listen on {host}:{port}: {exc}",
                                 fix="pick a free --slack-port")) from None
    for name in channels:
        slack.add_channel(name.lstrip("#"))
    err.print(f"Slack emulator on {slack.base_url} (channels: {', '.join(channels)}); "
              "any xoxb- token is accepted")
