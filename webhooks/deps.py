"""What the routes need from the request and the app, kept out of the routes.

``SettingsDep``, ``InboxDep``, ``RouterDep`` and ``ForwarderDep`` are FastAPI dependencies
handing out what the lifespan put on ``app.state`` (for the routes off the delivery path).
The delivery routes call :func:`services` and ``verify_<source>`` directly: they read the raw
body (capped), check the source's signature over those exact bytes, and only then parse
JSON; the route gets a :class:`VerifiedEvent`, never an unverified body.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from webhooks.errors import InvalidSignature, MalformedRequest, SourceNotConfigured
from webhooks.forwarder import Forwarder
from webhooks.inbox import Inbox
from webhooks.metrics import Metrics
from webhooks.routing import Router
from webhooks.settings import Settings, decode_whsec
from webhooks.verify import (
    check_bamboohr,
    check_bearer_or_basic,
    check_hub_signature,
    check_shared_secret,
    check_standard_webhooks,
    read_body,
)

logger = logging.getLogger("webhooks.verify")

#: Request headers worth keeping with an event (never credentials or signatures).
_KEPT_HEADERS = frozenset(
    {
        "content-type",
        "user-agent",
        "x-bamboohr-timestamp",
        "x-atlassian-webhook-identifier",
        "x-atlassian-webhook-retry",
        "x-atlassian-webhook-flow",
        "webhook-id",
        "webhook-timestamp",
        "idempotency-key",
    }
)


async def get_settings(request: Request) -> Settings:
    """The service's settings."""
    return request.app.state.settings


async def get_inbox(request: Request) -> Inbox:
    """The open inbox."""
    return request.app.state.inbox


async def get_router(request: Request) -> Router:
    """The validated routing config."""
    return request.app.state.router


async def get_forwarder(request: Request) -> Forwarder | None:
    """The forwarder, if it runs in this process."""
    return getattr(request.app.state, "forwarder", None)


# Async on purpose: FastAPI runs plain ``def`` dependencies in a worker thread, a hop per
# dependency per request that dominated the acknowledgement latency.
SettingsDep = Annotated[Settings, Depends(get_settings)]
InboxDep = Annotated[Inbox, Depends(get_inbox)]
RouterDep = Annotated[Router, Depends(get_router)]
ForwarderDep = Annotated[Forwarder | None, Depends(get_forwarder)]


@dataclass(frozen=True)
class VerifiedEvent:
    """A delivery whose signature checked out, with its body parsed.

    Attributes:
        source: The source name (``okta``, ``bamboohr``, ...).
        body: The raw bytes the signature covered.
        payload: The parsed JSON body.
        headers: The request headers worth keeping (lower-case names, no credentials).
    """

    source: str
    body: bytes
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """A kept header by (case-insensitive) name."""
        return self.headers.get(name.lower())


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


#: Built once: ``json.loads`` with ``parse_constant`` builds a new decoder per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def parse_json(body: bytes) -> Any:
    """Parse a JSON body strictly (no NaN/Infinity).

    Raises:
        MalformedRequest: empty, not UTF-8, not JSON, or nested too deep.
    """
    if not body.strip():
        raise MalformedRequest("empty body; expected JSON")
    try:
        # What json.loads does with bytes (UTF-8, -16 or -32 by the first bytes).
        return _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except RecursionError:
        raise MalformedRequest("JSON nested too deeply") from None
    except ValueError as exc:
        raise MalformedRequest(f"body is not JSON: {exc}") from None


def _kept_headers(request: Request) -> dict[str, str]:
    return {k: v[:512] for k, v in request.headers.items() if k in _KEPT_HEADERS}


def header_docs(**headers: str) -> list[dict[str, Any]]:
    """OpenAPI ``parameters`` for headers a route reads itself (``webhook_id`` documents
    ``webhook-id``): the delivery routes take only the ``Request``, so nothing else lists them."""
    return [
        {
            "name": name.replace("_", "-"),
            "in": "header",
            "required": False,
            "description": description,
            "schema": {"type": "string"},
        }
        for name, description in headers.items()
    ]


@dataclass(frozen=True, slots=True)
class Services:
    """What the lifespan put on ``app.state`` for the delivery routes."""

    settings: Settings
    inbox: Inbox
    router: Router
    forwarder: Forwarder | None
    metrics: Metrics | None


def services(request: Request) -> Services:
    """The app's settings, inbox, router, forwarder and metrics (a plain call, not a
    dependency)."""
    state = request.app.state
    return Services(
        state.settings,
        state.inbox,
        state.router,
        getattr(state, "forwarder", None),
        getattr(state, "metrics", None),
    )


async def _verified(
    request: Request, settings: Settings, source: str, check: Callable[[bytes], None]
) -> VerifiedEvent:
    body = await read_body(request, settings.max_body_bytes)
    try:
        check(body)
    except InvalidSignature as exc:
        # The reason and the client only: never the body or the signature.
        client = request.client.host if request.client else "?"
        logger.warning("rejected %s delivery from %s: %s", source, client, exc.reason)
        raise
    return VerifiedEvent(
        source=source, body=body, payload=parse_json(body), headers=_kept_headers(request)
    )


# The delivery routes call these directly instead of declaring them as FastAPI dependencies:
# resolving a dependency tree (sub-dependencies, header parameters) cost more CPU per
# delivery than verifying it. Each reads its headers off the request itself.


async def verify_okta(request: Request, settings: Settings) -> VerifiedEvent:
    """Okta event hook: the configured header must carry the shared secret."""
    secret = settings.okta_secret
    if secret is None:
        raise SourceNotConfigured.of("okta")
    header = settings.okta_auth_header
    given = request.headers.get(header)
    return await _verified(
        request,
        settings,
        "okta",
        lambda _body: check_shared_secret(secret, given, header=header),
    )


async def verify_bamboohr(request: Request, settings: Settings) -> VerifiedEvent:
    """BambooHR: HMAC-SHA256 over the raw body followed by the timestamp."""
    key = settings.bamboohr_secret
    if key is None:
        raise SourceNotConfigured.of("bamboohr")
    headers = request.headers
    return await _verified(
        request,
        settings,
        "bamboohr",
        lambda body: check_bamboohr(
            key,
            body,
            timestamp=headers.get("x-bamboohr-timestamp"),
            signature=headers.get("x-bamboohr-signature"),
            window=settings.replay_window_seconds,
            now=time.time,
        ),
    )


async def verify_jira(request: Request, settings: Settings) -> VerifiedEvent:
    """Jira Cloud admin webhook: ``X-Hub-Signature`` over the raw body."""
    secret = settings.jira_secret
    if secret is None:
        raise SourceNotConfigured.of("jira")
    signature = request.headers.get("x-hub-signature")
    return await _verified(
        request, settings, "jira", lambda body: check_hub_signature(secret, body, signature)
    )


async def verify_servicenow(request: Request, settings: Settings) -> VerifiedEvent:
    """ServiceNow outbound REST / JSM automation: bearer token or basic credentials."""
    if settings.servicenow_token is None and settings.servicenow_password is None:
        raise SourceNotConfigured.of("servicenow")
    authorization = request.headers.get("authorization")
    return await _verified(
        request,
        settings,
        "servicenow",
        lambda _body: check_bearer_or_basic(
            authorization,
            token=settings.servicenow_token,
            username=settings.servicenow_username,
            password=settings.servicenow_password,
        ),
    )


@functools.lru_cache(maxsize=8)
def _whsec_keys(secret: str) -> tuple[bytes, ...]:
    # Decoded once per secret, not per delivery.
    try:
        return (decode_whsec(secret),)
    except ValueError:
        return ()  # a development placeholder: nothing verifies


async def verify_generic(request: Request, settings: Settings) -> VerifiedEvent:
    """Standard Webhooks: ``v1`` HMAC over ``{id}.{timestamp}.{body}``."""
    secret = settings.generic_secret
    if secret is None:
        raise SourceNotConfigured.of("generic")
    keys = list(_whsec_keys(secret.get_secret_value()))
    headers = request.headers
    return await _verified(
        request,
        settings,
        "generic",
        lambda body: check_standard_webhooks(
            keys,
            body,
            msg_id=headers.get("webhook-id"),
            timestamp=headers.get("webhook-timestamp"),
            signature=headers.get("webhook-signature"),
            window=settings.replay_window_seconds,
            now=time.time,
        ),
    )
