"""``arize-runbooks serve``: the webhook service (HR / identity / ticket webhooks, Slack clicks).

It loads the env file ``setup`` wrote (variables already set win), then refuses to start,
exit 2, when its configuration cannot work: no service key, a routed source without its
secret, Slack half-configured, no Prefect API, or several workers on a SQLite inbox. Each
refusal names the variable to set. ``--workers N`` runs N processes on the one port.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from cli.errors import CliError, exit_with

if TYPE_CHECKING:
    from webhooks.settings import Settings

FIX_ENV = (
    "export it, or put it in the env file ({path}) with `arize-runbooks setup`, and start again"
)


def load_settings(**overrides: Any) -> Any:
    """Settings from the env file and the environment with command-line overrides.

    Raises:
        CliError: a setting is invalid (exit 2, naming the variable).
    """
    from config.env_file import load_env_file
    from webhooks.settings import Settings

    load_env_file()
    return _validated(Settings, "webhook service", **overrides)


def load_scim_settings() -> Any:
    """The SCIM endpoint's settings (``ARIZE_RUNBOOKS_SCIM_*``), after :func:`load_settings`.

    Raises:
        CliError: a setting is invalid (exit 2, naming the variable).
    """
    from webhooks.scim.settings import ScimSettings

    return _validated(ScimSettings, "SCIM endpoint")


def _validated(model: Any, what: str, **overrides: Any) -> Any:
    from config.env_file import env_file_path
    from config.settings import ENV_PREFIX

    prefix = model.model_config.get("env_prefix") or ENV_PREFIX
    try:
        return model(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        details = []
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]) or "settings"
            message = error["msg"].removeprefix("Value error, ")
            details.append(f"{prefix}{field.upper()}: {message}")
        raise CliError(
            f"invalid {what} settings", details=details,
            fix=FIX_ENV.format(path=env_file_path()).replace("export it", "correct it"),
        ) from None


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
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, max=32,
            help="Processes answering on the port (default: ARIZE_RUNBOOKS_SERVE_WORKERS or 1); "
            "more than 1 needs a PostgreSQL inbox.",
        ),
    ] = None,
) -> None:
    """Run the webhook service: verify deliveries, store them, start one flow run per event."""
    from config.env_file import env_file_path
    from webhooks.routing import Router, RoutingConfigError

    # exit_with: the refusal exits 2 however the command is invoked (console script or a
    # click runner), not only through the App wrapper. Everything refused here is found
    # before the app (and Prefect) is imported, so a refusal takes a fraction of a second.
    try:
        settings = load_settings(
            routing_config=config, inbox_url=inbox_url, prefect_api_url=prefect_api_url,
            serve_workers=workers,
        )
        scim_settings = load_scim_settings()
        try:
            router = Router.configured(settings.routing_config)
        except RoutingConfigError as exc:
            raise CliError(str(exc), where=str(settings.routing_config),
                           fix="correct the file; nothing was started") from None
        problems = settings.problems(router.routed_sources)
        if problems:
            raise CliError(
                "the webhook service is not fully configured", details=problems,
                where="the environment of `arize-runbooks serve`",
                fix=FIX_ENV.format(path=env_file_path()),
            )
    except CliError as exc:
        raise exit_with(exc) from None

    # Checked once the rest is in order (so those refusals need no Prefect): with no Prefect
    # API named anywhere (this option, ARIZE_RUNBOOKS_PREFECT_API_URL, PREFECT_API_URL in the
    # environment or the env file, Prefect's profile), Prefect's client starts a temporary
    # server inside `serve`. The forwarder would mark events forwarded to runs no worker ever
    # sees, Slack votes would resume nothing, and that server outlived `serve`.
    from prefect.settings import get_current_settings

    if settings.prefect_api_url is None and get_current_settings().api.url is None:
        raise exit_with(CliError(
            "no Prefect API to start runs on: PREFECT_API_URL is not set",
            where="the environment of `arize-runbooks serve`, its env file and Prefect's profile",
            fix="set PREFECT_API_URL (or ARIZE_RUNBOOKS_PREFECT_API_URL) to the API of the "
                "Prefect server your workers poll, e.g. http://127.0.0.1:4200/api, or put it in "
                f"the env file ({env_file_path()}) with `arize-runbooks setup`, and start again",
        )) from None

    if settings.serve_workers > 1:
        _serve_workers(settings, host=host, port=port, log_level=log_level)
        return

    import uvicorn

    from webhooks.access_log import log_config
    from webhooks.app import create_app

    # Built here, once, on the router and settings checked above (the file is read once).
    app = create_app(settings, scim_settings, router=router)
    uvicorn.run(app, host=host, port=port, log_level=log_level, log_config=log_config())


def _serve_workers(settings: Settings, *, host: str, port: int, log_level: str) -> None:
    """``settings.serve_workers`` processes on one port, under uvicorn's supervisor, which
    restarts a worker that dies and stops them all on SIGTERM or Ctrl-C.

    Each worker builds the app from the environment (the env file is loaded into it, and the
    command-line options are put there), so all of them run what was checked above. Their
    counters are kept in a directory of shared files (Prometheus's multiprocess mode), so a
    scrape of ``/metrics`` counts every worker's deliveries, whichever worker answers it.
    """
    import os
    import tempfile

    import uvicorn

    from config.settings import env_name
    from webhooks.access_log import log_config
    from webhooks.metrics import MULTIPROCESS_DIR

    for field in ("routing_config", "inbox_url", "prefect_api_url"):
        value = getattr(settings, field)
        if value is not None:
            os.environ[env_name(field)] = str(value)
    # A new directory each start, removed at the end: counters begin at zero, as one
    # process's do, and no other program's files are ever added to them.
    with tempfile.TemporaryDirectory(prefix="arize-runbooks-metrics-") as metrics:
        os.environ[MULTIPROCESS_DIR] = metrics
        os.environ[WORKER_LOG_LEVEL] = log_level
        uvicorn.run(
            "cli.serve:worker_app", factory=True, workers=settings.serve_workers,
            host=host, port=port, log_level=log_level, log_config=log_config(),
        )  # fmt: skip


#: ``serve``'s ``--log-level``, handed to its workers.
WORKER_LOG_LEVEL = "_ARIZE_RUNBOOKS_SERVE_LOG_LEVEL"  # not a setting: set by `serve` only


def worker_app() -> Any:
    """The app of one worker of ``serve --workers N`` (uvicorn's factory in each worker).

    uvicorn sets up a worker's logging before it imports the app, and importing Prefect sets
    up the ``uvicorn`` loggers again: at WARNING, with the access logger reset under them, so
    the workers wrote no access lines and no start-up lines. One process builds the app before
    uvicorn sets up logging; here uvicorn's set-up is done again once the app is built.
    """
    import os

    import uvicorn

    from webhooks.access_log import log_config
    from webhooks.app import app_from_env

    app = app_from_env()
    # A Config sets up logging as it is made, as it did in this worker before the import.
    uvicorn.Config(app, log_config=log_config(), log_level=os.environ.get(WORKER_LOG_LEVEL))
    return app
