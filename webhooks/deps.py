"""FastAPI dependencies as ``Annotated`` aliases, so routes stay a few lines long.

``SettingsDep``, ``InboxDep``, ``RouterDep`` and ``ForwarderDep`` hand out what the lifespan
put on ``app.state``. ``Verified<Source>`` read the raw body (capped), check the source's
signature over those exact bytes, and only then parse JSON; the route receives a
:class:`VerifiedEvent`, never an unverified body.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from webhooks.errors import InvalidSignature, MalformedRequest, SourceNotConfigured
from webhooks.forwarder import Forwarder
from webhooks.inbox import Inbox
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


def parse_json(body: bytes) -> Any:
    """Parse a JSON body strictly (no NaN/Infinity).

    Raises:
        MalformedRequest: empty, not UTF-8, not JSON, or nested too deep.
    """
    if not body.strip():
        raise MalformedRequest("empty body; expected JSON")
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise MalformedRequest("JSON nested too deeply") from None
    except ValueError as exc:
        raise MalformedRequest(f"body is not JSON: {exc}") from None


def _kept_headers(request: Request) -> dict[str, str]:
    return {k: v[:512] for k, v in request.headers.items() if k in _KEPT_HEADERS}


async def _verified(request: Request, settings: Settings, source: str, check: Any) -> VerifiedEvent:
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


async def verified_okta(
    request: Request,
    settings: SettingsDep,
    authorization: Annotated[
        str | None,
        Header(description="The event hook's secret, sent verbatim by Okta (header configurable)."),
    ] = None,
) -> VerifiedEvent:
    """Okta event hook: the configured header must carry the shared secret."""
    secret = settings.okta_secret
    if secret is None:
        raise SourceNotConfigured("the okta source is not configured")
    given = request.headers.get(settings.okta_auth_header)
    return await _verified(
        request,
        settings,
        "okta",
        lambda _body: check_shared_secret(secret, given, header=settings.okta_auth_header),
    )


async def verified_bamboohr(
    request: Request,
    settings: SettingsDep,
    x_bamboohr_signature: Annotated[
        str | None, Header(description="Hex HMAC-SHA256 of body + timestamp.")
    ] = None,
    x_bamboohr_timestamp: Annotated[str | None, Header(description="Unix seconds.")] = None,
) -> VerifiedEvent:
    """BambooHR: HMAC-SHA256 over the raw body followed by the timestamp."""
    key = settings.bamboohr_secret
    if key is None:
        raise SourceNotConfigured("the bamboohr source is not configured")
    return await _verified(
        request,
        settings,
        "bamboohr",
        lambda body: check_bamboohr(
            key,
            body,
            timestamp=x_bamboohr_timestamp,
            signature=x_bamboohr_signature,
            window=settings.replay_window_seconds,
            now=time.time,
        ),
    )


async def verified_jira(
    request: Request,
    settings: SettingsDep,
    x_hub_signature: Annotated[
        str | None, Header(description="sha256=<hex HMAC-SHA256 of the body>.")
    ] = None,
) -> VerifiedEvent:
    """Jira Cloud admin webhook: ``X-Hub-Signature`` over the raw body."""
    secret = settings.jira_secret
    if secret is None:
        raise SourceNotConfigured("the jira source is not configured")
    return await _verified(
        request, settings, "jira", lambda body: check_hub_signature(secret, body, x_hub_signature)
    )


async def verified_servicenow(
    request: Request,
    settings: SettingsDep,
    authorization: Annotated[
        str | None, Header(description="'Bearer <token>' or 'Basic <user:password>'.")
    ] = None,
) -> VerifiedEvent:
    """ServiceNow outbound REST / JSM automation: bearer token or basic credentials."""
    if settings.servicenow_token is None and settings.servicenow_password is None:
        raise SourceNotConfigured("the servicenow source is not configured")
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


async def verified_generic(
    request: Request,
    settings: SettingsDep,
    webhook_id: Annotated[str | None, Header(description="Message id (dedupe key).")] = None,
    webhook_timestamp: Annotated[str | None, Header(description="Unix seconds.")] = None,
    webhook_signature: Annotated[
        str | None, Header(description="Space-separated 'v1,<base64 HMAC-SHA256>' list.")
    ] = None,
) -> VerifiedEvent:
    """Standard Webhooks: ``v1`` HMAC over ``{id}.{timestamp}.{body}``."""
    secret = settings.generic_secret
    if secret is None:
        raise SourceNotConfigured("the generic source is not configured")
    try:
        keys = [decode_whsec(secret.get_secret_value())]
    except ValueError:
        keys = []  # a development placeholder: nothing verifies
    return await _verified(
        request,
        settings,
        "generic",
        lambda body: check_standard_webhooks(
            keys,
            body,
            msg_id=webhook_id,
            timestamp=webhook_timestamp,
            signature=webhook_signature,
            window=settings.replay_window_seconds,
            now=time.time,
        ),
    )


VerifiedOkta = Annotated[VerifiedEvent, Depends(verified_okta)]
VerifiedBambooHR = Annotated[VerifiedEvent, Depends(verified_bamboohr)]
VerifiedJira = Annotated[VerifiedEvent, Depends(verified_jira)]
VerifiedServiceNow = Annotated[VerifiedEvent, Depends(verified_servicenow)]
VerifiedGeneric = Annotated[VerifiedEvent, Depends(verified_generic)]
