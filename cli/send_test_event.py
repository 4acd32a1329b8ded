"""``arize-runbooks send-test-event SOURCE --email …``: a signed test event to a running service.

Each source module (``webhooks/sources/<name>.py``) builds the event its example routes
(examples/routing.yaml) act on, and signs it the way the sender does with the secret `serve`
has (env file and environment), next to the code that verifies it. Use ``--dry-run`` where the
route allows it to plan without changing.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.console import Console

from cli.errors import CliError

out = Console()


def _source(name: str) -> Any:
    """The webhook source called ``name`` (imported here: the CLI starts without the service).

    Raises:
        typer.BadParameter: no such source, listing them.
    """
    from webhooks.sources import SOURCES

    if name not in SOURCES:
        known = "; ".join(f"{s.name} ({s.test_event_summary})" for s in SOURCES.values())
        raise typer.BadParameter(f"use one of: {known}", param_hint="SOURCE")
    return SOURCES[name]


def signed_request(source: Any, email: str, requested_by: str, settings: Any
                   ) -> tuple[bytes, dict[str, str]]:
    """What ``source`` would send about ``email``: its body and signed headers, signed with the
    service's settings.

    Raises:
        CliError: the source's secret is not set here, naming the variable.
    """
    if not source.configured(settings):
        raise CliError(f"no secret for the {source.name} source in this environment",
                       where="the environment and the env file",
                       fix=f"set {' or '.join(source.variables)} to the value "
                       "`arize-runbooks serve` has")
    body = json.dumps(source.test_event(email, requested_by)).encode()
    headers = {"content-type": "application/json",
               **source.sign(settings, body, int(time.time()))}
    return body, headers


def send_test_event(
    source: Annotated[str, typer.Argument(
        help="A webhook source: a module of webhooks/sources (okta, bamboohr, jira, ...)."
    )],
    email: Annotated[str, typer.Option(help="The person the event is about.")],
    url: Annotated[
        str, typer.Option(help="Where `arize-runbooks serve` listens.")
    ] = "http://127.0.0.1:8787",
    requested_by: Annotated[
        str, typer.Option(help="Who the event says asked (may not approve the run).")
    ] = "send-test-event@arize-runbooks.invalid",
) -> None:
    """Send a correctly signed test event to a running webhook service; print its receipt."""
    import httpx

    from cli.serve import load_settings

    sender = _source(source)
    settings = load_settings()
    body, headers = signed_request(sender, email, requested_by, settings)
    target = f"{url.rstrip('/')}/webhooks/{source}"
    try:
        response = httpx.post(target, content=body, headers=headers, timeout=30)
    except httpx.HTTPError as ex:
        raise CliError(f"cannot reach {target}: {type(ex).__name__}",
                       fix="start `arize-runbooks serve`, or pass --url where it listens") from None
    if response.status_code >= 400:
        detail = response.json().get("detail") if response.headers.get(
            "content-type", "").startswith("application/json") else response.text[:200]
        raise CliError(f"{target} answered {response.status_code}: {detail}",
                       fix="401: the secret here differs from the service's; "
                       "404: set the source's secret for `serve`")
    out.print_json(response.text)
