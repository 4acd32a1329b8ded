"""Slack slash commands: ``/arize-access`` opens the temporary-access request form.

``POST /slack/commands`` verifies Slack's v0 signature over the raw body with slack-sdk's
``SignatureVerifier`` (as the interactivity route does) before reading a single field, then
opens the modal at once: Slack's trigger id lives three seconds. The submission comes back
through ``POST /slack/interactions`` (``flows.time_bound_access.slack_requests``).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from flows.time_bound_access.slack_requests import AccessRequestHandler, build_access_handler
from webhooks.errors import MalformedRequest
from webhooks.routes.slack import handler_context, slack_not_configured, verified_slack_body

router = APIRouter(prefix="/slack", tags=["slack"])

ACCESS_COMMAND = "/arize-access"


async def verified_slack_command(
    body: Annotated[bytes, Depends(verified_slack_body)],
) -> dict[str, str]:
    """The fields of a slash command whose Slack signature checks out (as clicks are checked).

    Raises:
        SourceNotConfigured: No Slack signing secret is configured (404).
        InvalidSignature: Missing, wrong or stale signature (401, generic body).
        MalformedRequest: A verified body that is not a slash command form (400).
    """
    try:
        form = {k: v[0] for k, v in parse_qs(body.decode(), strict_parsing=True).items()}
    except (UnicodeDecodeError, ValueError) as ex:
        raise MalformedRequest("expected a form-encoded slash command") from ex
    if not form.get("command") or not form.get("user_id") or not form.get("trigger_id"):
        raise MalformedRequest("a slash command needs command, user_id and trigger_id")
    return form


VerifiedSlackCommand = Annotated[dict[str, str], Depends(verified_slack_command)]


def access_handler(request: Request) -> AccessRequestHandler:
    """The app's access-request handler (the one clicks use), else one from settings.

    Raises:
        SourceNotConfigured: No Slack bot token is configured (404).
    """
    for handler in getattr(request.app.state, "slack_handlers", None) or []:
        if isinstance(handler, AccessRequestHandler):
            return handler
    handler = build_access_handler(handler_context(request))
    if handler is None:
        raise slack_not_configured()
    return handler


def _ephemeral(text: str) -> JSONResponse:
    return JSONResponse({"response_type": "ephemeral", "text": text})


@router.post("/commands", status_code=200, response_model=None)
async def commands(
    form: VerifiedSlackCommand,
    handler: Annotated[AccessRequestHandler, Depends(access_handler)],
) -> Response:
    """Open the access request form for ``/arize-access``; refuse anything else politely."""
    if form["command"] != ACCESS_COMMAND:
        return _ephemeral(f"Unknown command {form['command']}; try {ACCESS_COMMAND}.")
    refusal = await handler.open_form(form["user_id"], form["trigger_id"])
    return _ephemeral(refusal) if refusal is not None else Response(status_code=200)
