"""Okta Event Hooks: the secret verbatim in a header, a ``GET`` challenge, batched log events.

One delivery may batch several log events (``data.events[]``); each becomes its own inbox
event keyed by its ``uuid``, so a redelivered or re-batched event is recognised. The
envelope's ``eventId`` is kept as the delivery id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from webhooks.errors import MalformedRequest
from webhooks.receiver import EventDraft, validate_shape
from webhooks.source import SourceSettings, VerifiedEvent, WebhookSource, required
from webhooks.verify import check_shared_secret

_MAX_CHALLENGE = 1024


class OktaSettings(SourceSettings):
    """The Okta source's settings."""

    okta_secret: SecretStr | None = Field(
        default=None, description="Okta event hook: the exact value Okta sends in the auth header."
    )
    okta_auth_header: str = Field(
        default="Authorization", description="Header the Okta event hook sends its secret in."
    )


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


class Okta(WebhookSource[OktaSettings]):
    """Okta event hooks."""

    name = "okta"
    settings = OktaSettings
    secret_fields = ("okta_secret",)
    scheme = "the secret verbatim in the Authorization header (Okta event hook)"
    summary = "Okta event hook delivery"
    body_model = OktaEventHook
    header_docs = {
        "authorization": "The event hook's secret, sent verbatim by Okta (header configurable)."
    }
    # Okta expects 200 (it retries 5xx once only).
    accepted_status = 200
    test_event_summary = "a leaver (user deactivated)"

    def check(self, settings: OktaSettings, headers: Mapping[str, str], body: bytes) -> None:
        header = settings.okta_auth_header
        check_shared_secret(required(settings.okta_secret), headers.get(header), header=header)

    def events(self, delivery: VerifiedEvent) -> list[EventDraft]:
        envelope = validate_shape(OktaEventHook, delivery.payload, "an Okta event hook")
        return [
            EventDraft(
                event_id=event.uuid,
                event_type=event.eventType,
                payload=raw,  # the event as sent, for the routing templates
                delivery_id=envelope.eventId,
            )
            for event, raw in zip(
                envelope.data.events, delivery.payload["data"]["events"], strict=True
            )
        ]

    def test_event(self, email: str, requested_by: str) -> dict[str, Any]:
        return {
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "eventId": str(uuid.uuid4()),
            "data": {"events": [{
                "uuid": str(uuid.uuid4()),
                "eventType": "user.lifecycle.deactivate",
                "displayMessage": "Deactivate Okta user",
                "actor": {"type": "User", "alternateId": requested_by},
                "outcome": {"result": "SUCCESS"},
                "target": [{"type": "User", "alternateId": email, "displayName": email}],
            }]},
        }  # fmt: skip

    def sign(self, settings: OktaSettings, body: bytes, now: int) -> dict[str, str]:
        return {settings.okta_auth_header: required(settings.okta_secret).get_secret_value()}

    def add_routes(self, router: APIRouter) -> None:
        source = self

        @router.get(
            source.path, response_model=OktaVerification, summary="Okta one-time verification",
            tags=[source.name],
        )
        async def verify_hook(
            request: Request,
            x_okta_verification_challenge: Annotated[
                str | None, Header(description="Echoed back as 'verification'.")
            ] = None,
        ) -> OktaVerification:
            """Echo ``X-Okta-Verification-Challenge``; Okta sends it once when the hook is
            verified."""
            if not source.configured(request.app.state.settings):
                raise source.not_configured()
            if not x_okta_verification_challenge:
                raise MalformedRequest("missing X-Okta-Verification-Challenge")
            if len(x_okta_verification_challenge) > _MAX_CHALLENGE:
                raise MalformedRequest("X-Okta-Verification-Challenge is too long")
            return OktaVerification(verification=x_okta_verification_challenge)


SOURCE = Okta()
