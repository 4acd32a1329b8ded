"""Okta Event Hooks: ``GET`` verification challenge, ``POST`` deliveries.

One delivery may batch several log events (``data.events[]``); each becomes its own inbox
event keyed by its ``uuid``, so a redelivered or re-batched event is recognised. The
envelope's ``eventId`` is kept as the delivery id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from webhooks.deps import SettingsDep, header_docs, services, verify_okta
from webhooks.errors import MalformedRequest, SourceNotConfigured
from webhooks.receiver import EventDraft, Receipt, accept, respond, validate_shape

router = APIRouter(prefix="/webhooks/okta", tags=["okta"])

_MAX_CHALLENGE = 1024


class OktaLogEvent(BaseModel):
    """One System Log event (only the fields the service relies on are declared)."""

    model_config = ConfigDict(extra="allow")

    uuid: str = Field(min_length=1, max_length=255)
    eventType: str = Field(min_length=1, max_length=255)
    published: str | None = None


class OktaEventData(BaseModel):
    """The ``data`` member of the envelope."""

    model_config = ConfigDict(extra="allow")

    events: list[OktaLogEvent]


class OktaEventHook(BaseModel):
    """The event hook envelope Okta POSTs."""

    model_config = ConfigDict(extra="allow")

    eventType: str | None = None
    eventId: str | None = Field(default=None, max_length=255)
    data: OktaEventData


class OktaVerification(BaseModel):
    """Answer to the one-time verification request."""

    verification: str


@router.get("", response_model=OktaVerification, summary="Okta one-time verification")
async def verify_hook(
    settings: SettingsDep,
    x_okta_verification_challenge: Annotated[
        str | None, Header(description="Echoed back as 'verification'.")
    ] = None,
) -> OktaVerification:
    """Echo ``X-Okta-Verification-Challenge``; Okta sends this once when the hook is verified."""
    if settings.okta_secret is None:
        raise SourceNotConfigured.of("okta")
    if not x_okta_verification_challenge:
        raise MalformedRequest("missing X-Okta-Verification-Challenge")
    if len(x_okta_verification_challenge) > _MAX_CHALLENGE:
        raise MalformedRequest("X-Okta-Verification-Challenge is too long")
    return OktaVerification(verification=x_okta_verification_challenge)


@router.post(
    "",
    response_model=Receipt,
    summary="Okta event hook delivery",
    openapi_extra={
        "parameters": header_docs(
            authorization="The event hook's secret, sent verbatim by Okta (header configurable)."
        ),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": OktaEventHook.model_json_schema()}},
        },
    },
)
async def receive(request: Request) -> Response:
    """Store each log event of the delivery; Okta expects 200 (it retries 5xx once only)."""
    app = services(request)
    delivery = await verify_okta(request, app.settings)
    envelope = validate_shape(OktaEventHook, delivery.payload, "an Okta event hook")
    drafts = [
        EventDraft(
            event_id=event.uuid,
            event_type=event.eventType,
            payload=raw,  # the event as sent, for the routing templates
            delivery_id=envelope.eventId,
        )
        for event, raw in zip(envelope.data.events, delivery.payload["data"]["events"], strict=True)
    ]
    receipt = await accept(
        source="okta",
        drafts=drafts,
        headers=delivery.headers,
        inbox=app.inbox,
        router=app.router,
        forwarder=app.forwarder,
        metrics=app.metrics,
    )
    return respond(receipt, accepted=200)
