"""Slack interactivity: Approve/Reject clicks on approval messages.

``POST /slack/interactions`` verifies Slack's v0 signature over the raw body (as bolt's
``RequestVerification`` does), answers 200 at once, and leaves the slow part (Prefect and Slack
look-ups, the vote, the resume, the message update) to a background task: Slack shows the
clicker an error unless it gets its 200 within 3 seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Protocol
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from slack_sdk.signature import SignatureVerifier

from flows.access_review.slack_clicks import build_review_handler
from flows.account_as_code.slack import build_drift_handler
from flows.slack_interactions import InteractionContext, RunQueue, RunRequest
from flows.time_bound_access.slack_requests import build_access_handler
from webhooks.approvals import SlackApprovalHandler, prefect_client_factory
from webhooks.errors import InvalidSignature, MalformedRequest, SourceNotConfigured
from webhooks.forwarder import Forwarder
from webhooks.inbox import Inbox
from webhooks.inbox_records import NewEvent
from webhooks.settings import Settings
from webhooks.verify import read_body

router = APIRouter(prefix="/slack", tags=["slack"])

_DEFAULT_MAX_BODY = 256 * 1024

#: What switches Slack on (both: clicks are verified with one and answered with the other).
SLACK_VARIABLES = "ARIZE_RUNBOOKS_SLACK_SIGNING_SECRET and ARIZE_RUNBOOKS_SLACK_BOT_TOKEN"


def slack_not_configured() -> SourceNotConfigured:
    """The 404 of a service without Slack, naming the variables to set."""
    return SourceNotConfigured.naming("slack", SLACK_VARIABLES)


def slack_settings(request: Request) -> Any:
    """The service's settings, if Slack is configured (its signing secret is set)."""
    settings = getattr(request.app.state, "settings", None)
    if settings is None or settings.slack_signing_secret is None:
        raise slack_not_configured()
    return settings


async def verified_slack_body(request: Request) -> bytes:
    """The raw body of a request whose Slack signature checks out: every Slack route's gate.

    Reads the raw body first and verifies ``v0:{timestamp}:{body}`` with slack-sdk's
    ``SignatureVerifier`` (5-minute replay window). Nothing of a refused request is logged.

    Raises:
        SourceNotConfigured: No Slack signing secret is configured (404).
        InvalidSignature: Missing, wrong or stale signature (401, generic body).
    """
    settings = slack_settings(request)
    body = await read_body(request, getattr(settings, "max_body_bytes", _DEFAULT_MAX_BODY))
    timestamp = request.headers.get("x-slack-request-timestamp")
    signature = request.headers.get("x-slack-signature")
    if not timestamp or not timestamp.strip().isdigit() or not signature:
        # SignatureVerifier.is_valid calls int(timestamp): refuse non-numbers first.
        raise InvalidSignature("missing or malformed Slack signature headers")
    verifier = SignatureVerifier(settings.slack_signing_secret.get_secret_value())
    if not verifier.is_valid(body, timestamp.strip(), signature):
        raise InvalidSignature("Slack signature mismatch or stale timestamp")
    return body


async def verified_slack_payload(
    body: Annotated[bytes, Depends(verified_slack_body)],
) -> dict[str, Any]:
    """The interaction payload (form field ``payload``, JSON) of a verified Slack request.

    Raises:
        MalformedRequest: A verified body without a JSON ``payload`` (400).
    """
    try:
        form = parse_qs(body.decode(), strict_parsing=True)
        payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError, IndexError) as ex:
        raise MalformedRequest("expected a form field 'payload' holding JSON") from ex
    if not isinstance(payload, dict):
        raise MalformedRequest("expected a form field 'payload' holding a JSON object")
    return payload


VerifiedSlackPayload = Annotated[dict[str, Any], Depends(verified_slack_payload)]


class InteractionHandler(Protocol):
    """Something that acts on verified Slack interactions: approvals, reviews, access requests."""

    async def handle(self, payload: dict[str, Any]) -> object | None:
        """Act on ``payload``; ``None`` when it is not this handler's."""
        ...


HandlerFactory = Callable[[InteractionContext], InteractionHandler | None]


def build_handler(context: InteractionContext) -> SlackApprovalHandler | None:
    """The approval click handler (None without a bot token)."""
    settings = context.settings
    if settings.slack_bot_token is None:
        return None
    return SlackApprovalHandler(
        bot_token=settings.slack_bot_token.get_secret_value(),
        slack_base_url=settings.slack_base_url,
        prefect_client=context.prefect_client,
    )


#: Every kind of Slack interaction the service handles; a feature adds its factory here.
HANDLER_FACTORIES: list[HandlerFactory] = [
    build_handler,
    build_review_handler,
    build_access_handler,
    build_drift_handler,
]


def interaction_context(
    settings: Settings, shared: Any | None, inbox: Any | None = None, forwarder: Any | None = None
) -> InteractionContext:
    """The context handlers are built from; ``shared`` is the lifespan's Prefect client."""
    return InteractionContext(
        settings=settings,
        # The lifespan's client is re-entrant: each click enters it without closing it.
        prefect_client=(lambda: shared)
        if shared is not None
        else prefect_client_factory(settings.prefect_api_url),
        queue=inbox_queue(inbox, forwarder) if inbox is not None else None,
    )


def inbox_queue(inbox: Inbox, forwarder: Forwarder | None) -> RunQueue:
    """The durable run queue of Slack interactions: the inbox, as for every other trigger.

    The forwarder creates the run once (Prefect's idempotency key is ``source:event_id``),
    whenever Prefect answers.
    """

    async def queue(request: RunRequest) -> tuple[int, bool]:
        stored, created = await inbox.add(
            NewEvent(
                source=request.source,
                event_id=request.event_id,
                event_type=request.event_type,
                payload=request.payload,
                deployment=request.deployment,
                parameters=request.parameters,
            )
        )
        if created and forwarder is not None:
            forwarder.wake()
        return stored.id, created

    return queue


def build_handlers(context: InteractionContext) -> list[InteractionHandler]:
    """One handler per factory that is configured."""
    built = (factory(context) for factory in HANDLER_FACTORIES)
    return [handler for handler in built if handler is not None]


def handler_context(request: Request) -> InteractionContext:
    """The context of this app (its settings, Prefect client, inbox and forwarder)."""
    state = request.app.state
    return interaction_context(
        slack_settings(request),
        getattr(state, "prefect_client", None),
        getattr(state, "inbox", None),
        getattr(state, "forwarder", None),
    )


def interaction_handlers(request: Request) -> list[InteractionHandler]:
    """The app's handlers: built once (at startup, or on the first click) and then reused.

    Raises:
        SourceNotConfigured: No Slack bot token is configured (404).
    """
    handlers = getattr(request.app.state, "slack_handlers", None)
    if handlers is None:
        handlers = build_handlers(handler_context(request))
        request.app.state.slack_handlers = handlers
    if not handlers:
        raise slack_not_configured()
    return handlers


async def dispatch(handlers: list[InteractionHandler], payload: dict[str, Any]) -> None:
    """Offer ``payload`` to each handler in turn until one takes it."""
    for handler in handlers:
        if await handler.handle(payload) is not None:
            return


@router.post("/interactions", status_code=200, response_class=Response)
async def interactions(
    payload: VerifiedSlackPayload,
    background: BackgroundTasks,
    handlers: Annotated[list[InteractionHandler], Depends(interaction_handlers)],
) -> Response:
    """Acknowledge a verified interaction now; act on it in the background."""
    background.add_task(dispatch, handlers, payload)
    return Response(status_code=200)
