"""Acme: X-Hub-Signature over the body, delivery id in X-Acme-Delivery."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from webhooks.receiver import EventDraft, check_id, validate_shape
from webhooks.source import SourceSettings, VerifiedEvent, WebhookSource, required
from webhooks.verify import check_hub_signature, sign_hub


class AcmeSettings(SourceSettings):
    acme_secret: SecretStr | None = Field(default=None, description="Acme's signing secret.")


class AcmeEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    action: str = Field(min_length=1, max_length=255)


class Acme(WebhookSource[AcmeSettings]):
    """Acme user lifecycle webhooks."""

    name = "acme"
    settings = AcmeSettings
    secret_fields = ("acme_secret",)
    scheme = "X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>"
    summary = "Acme webhook delivery"
    body_model = AcmeEvent
    kept_headers = frozenset({"x-acme-delivery"})
    header_docs = {"x_acme_delivery": "Delivery id (dedupe key)."}

    def check(self, settings: AcmeSettings, headers: Mapping[str, str], body: bytes) -> None:
        check_hub_signature(required(settings.acme_secret), body, headers.get("x-hub-signature"))

    def events(self, delivery: VerifiedEvent) -> list[EventDraft]:
        body = validate_shape(AcmeEvent, delivery.payload, "an Acme event")
        event_id = check_id(delivery.header("x-acme-delivery"), "X-Acme-Delivery")
        return [EventDraft(event_id=event_id, event_type=body.action, payload=delivery.payload)]

    def test_event(self, email: str, requested_by: str) -> dict[str, Any]:
        return {"action": "user.deactivated", "user": {"email": email}, "by": requested_by}

    def sign(self, settings: AcmeSettings, body: bytes, now: int) -> dict[str, str]:
        secret = required(settings.acme_secret).get_secret_value()
        return {"x-hub-signature": sign_hub(secret, body), "x-acme-delivery": f"acme-{now}"}


SOURCE = Acme()
