"""Any other sender, signed per Standard Webhooks (``webhook-id`` / ``-timestamp`` /
``-signature``, ``whsec_`` secrets). The event type is the body's ``type``; the dedupe key is
``webhook-id``."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from config.settings import PLACEHOLDER_SECRETS
from webhooks.receiver import EventDraft, check_id, validate_shape
from webhooks.source import SourceSettings, VerifiedEvent, WebhookSource, required
from webhooks.verify import check_standard_webhooks, decode_whsec, sign_standard


class GenericSettings(SourceSettings):
    """The generic (Standard Webhooks) source's settings."""

    generic_secret: SecretStr | None = Field(
        default=None, description="Standard Webhooks signing secret, 'whsec_' + base64."
    )

    @field_validator("generic_secret")
    @classmethod
    def _whsec_format(cls, value: SecretStr | None) -> SecretStr | None:
        # A placeholder is left to the shared placeholder check, which names the variable.
        if value is not None and value.get_secret_value().lower() not in PLACEHOLDER_SECRETS:
            decode_whsec(value.get_secret_value())
        return value


class GenericEvent(BaseModel):
    """The Standard Webhooks payload convention: ``{"type", "timestamp", "data"}``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        min_length=1, max_length=255, description="Event type, e.g. runbook.offboard-user."
    )
    timestamp: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


@functools.lru_cache(maxsize=8)
def _whsec_keys(secret: str) -> tuple[bytes, ...]:
    # Decoded once per secret, not per delivery.
    try:
        return (decode_whsec(secret),)
    except ValueError:
        return ()  # a development placeholder: nothing verifies


class Generic(WebhookSource[GenericSettings]):
    """Standard Webhooks senders."""

    name = "generic"
    settings = GenericSettings
    secret_fields = ("generic_secret",)
    scheme = "Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature v1 (whsec_)"
    summary = "Standard Webhooks delivery"
    body_model = GenericEvent
    kept_headers = frozenset({"webhook-id", "webhook-timestamp"})
    header_docs = {
        "webhook_id": "Message id (dedupe key).",
        "webhook_timestamp": "Unix seconds.",
        "webhook_signature": "Space-separated 'v1,<base64 HMAC-SHA256>' list.",
    }
    test_event_summary = "a runbook.offboard-user event"

    def check(self, settings: GenericSettings, headers: Mapping[str, str], body: bytes) -> None:
        check_standard_webhooks(
            list(_whsec_keys(required(settings.generic_secret).get_secret_value())),
            body,
            msg_id=headers.get("webhook-id"),
            timestamp=headers.get("webhook-timestamp"),
            signature=headers.get("webhook-signature"),
            window=settings.replay_window_seconds,
            now=time.time,
        )

    def events(self, delivery: VerifiedEvent) -> list[EventDraft]:
        body = validate_shape(GenericEvent, delivery.payload, "a Standard Webhooks event")
        event_id = check_id(delivery.header("webhook-id"), "webhook-id")
        return [EventDraft(event_id=event_id, event_type=body.type, payload=delivery.payload)]

    def test_event(self, email: str, requested_by: str) -> dict[str, Any]:
        return {"type": "runbook.offboard-user",
                "data": {"spec": {"email": email, "reason": "send-test-event"},
                         "requested_by": requested_by}}  # fmt: skip

    def sign(self, settings: GenericSettings, body: bytes, now: int) -> dict[str, str]:
        msg_id, stamp = f"msg_{uuid.uuid4().hex}", str(now)
        key = decode_whsec(required(settings.generic_secret).get_secret_value())
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": stamp,
            "webhook-signature": sign_standard(key, msg_id, stamp, body),
        }


SOURCE = Generic()
