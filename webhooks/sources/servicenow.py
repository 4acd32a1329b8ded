"""ServiceNow outbound REST messages and Jira Service Management automation web requests.

Neither signs its requests, so the endpoint takes ``Authorization: Bearer <token>`` or Basic
credentials. The body is the JSON the admin configured; this service reads ``event_type``
(default ``request``) and an event id from the ``Idempotency-Key`` header, the body's
``event_id``, or failing both a hash of the exact body (so a resend of the same body dedupes).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from webhooks.receiver import EventDraft, check_id, validate_shape
from webhooks.source import SourceSettings, VerifiedEvent, WebhookSource, required
from webhooks.verify import basic_credentials, check_bearer_or_basic


class ServiceNowSettings(SourceSettings):
    """The ServiceNow source's settings: a bearer token, or basic credentials, or both."""

    servicenow_token: SecretStr | None = Field(
        default=None, description="ServiceNow / JSM automation: expected 'Authorization: Bearer'."
    )
    servicenow_username: str | None = Field(
        default=None, description="ServiceNow basic-auth user name (with servicenow_password)."
    )
    servicenow_password: SecretStr | None = Field(
        default=None, description="ServiceNow basic-auth password."
    )

    @model_validator(mode="after")
    def _basic_is_whole(self) -> ServiceNowSettings:
        if (self.servicenow_username is None) != (self.servicenow_password is None):
            raise ValueError(
                "servicenow_username and servicenow_password are set together "
                "(ARIZE_RUNBOOKS_SERVICENOW_USERNAME, ARIZE_RUNBOOKS_SERVICENOW_PASSWORD)"
            )
        return self


class ServiceNowRequest(BaseModel):
    """A catalog request / ticket notification (any further fields are kept for routing)."""

    model_config = ConfigDict(extra="allow")

    event_type: str = Field(default="request", min_length=1, max_length=255)
    event_id: str | None = Field(default=None, min_length=1, max_length=255)
    number: str | None = Field(default=None, description="Ticket number, e.g. RITM0010001.")


class ServiceNow(WebhookSource[ServiceNowSettings]):
    """ServiceNow / Jira Service Management automation requests."""

    name = "servicenow"
    settings = ServiceNowSettings
    secret_fields = ("servicenow_token", "servicenow_password")
    scheme = "Authorization: Bearer <token>, or Basic with ARIZE_RUNBOOKS_SERVICENOW_USERNAME"
    summary = "ServiceNow / JSM automation request"
    body_model = ServiceNowRequest
    kept_headers = frozenset({"idempotency-key"})
    header_docs = {
        "authorization": "'Bearer <token>' or 'Basic <user:password>'.",
        "idempotency_key": "Event id; wins over the body's event_id.",
    }
    test_event_summary = "a leaver (offboarding request)"

    def check(
        self, settings: ServiceNowSettings, headers: Mapping[str, str], body: bytes
    ) -> None:
        check_bearer_or_basic(
            headers.get("authorization"),
            token=settings.servicenow_token,
            username=settings.servicenow_username,
            password=settings.servicenow_password,
        )

    def events(self, delivery: VerifiedEvent) -> list[EventDraft]:
        idempotency_key = delivery.header("idempotency-key")
        body = validate_shape(ServiceNowRequest, delivery.payload, "a JSON object")
        if idempotency_key is not None:
            event_id = check_id(idempotency_key, "Idempotency-Key")
        elif body.event_id is not None:
            event_id = body.event_id
        else:
            event_id = "sha256:" + hashlib.sha256(delivery.body).hexdigest()[:32]
        return [EventDraft(event_id=event_id, event_type=body.event_type, payload=delivery.payload)]

    def test_event(self, email: str, requested_by: str) -> dict[str, Any]:
        return {"event_type": "catalog_request", "event_id": str(uuid.uuid4()),
                "number": "RITM0000001", "cat_item": "Arize offboarding",
                "opened_by": requested_by,
                "variables": {"user_email": email, "reason": "send-test-event"}}  # fmt: skip

    def sign(self, settings: ServiceNowSettings, body: bytes, now: int) -> dict[str, str]:
        if settings.servicenow_token is not None:
            return {"authorization": f"Bearer {settings.servicenow_token.get_secret_value()}"}
        return {
            "authorization": basic_credentials(
                settings.servicenow_username or "",
                required(settings.servicenow_password).get_secret_value(),
            )
        }


SOURCE = ServiceNow()
