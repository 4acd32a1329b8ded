"""BambooHR webhooks: HMAC-SHA256 of body + timestamp; event-based and field-based bodies.

BambooHR sends no event id, so one is derived from what identifies the change (guide §10B):
event type, company, employee, the event's own timestamp and the changed fields. A
redelivery of the same change gets the same id. A field-based body is split per employee,
with event type ``employee_with_fields.<action>``.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from webhooks.receiver import EventDraft, check_id, validate_shape
from webhooks.source import SourceSettings, VerifiedEvent, WebhookSource, required
from webhooks.verify import check_bamboohr, sign_bamboohr


class BambooHRSettings(SourceSettings):
    """The BambooHR source's settings."""

    bamboohr_secret: SecretStr | None = Field(
        default=None, description="BambooHR webhook private key (HMAC-SHA256 of body + timestamp)."
    )


class BambooHREventData(BaseModel):
    """``data`` of an event-based webhook."""

    model_config = ConfigDict(extra="allow")

    companyId: str | int | None = None
    employeeId: str | int
    changedFields: list[str] = Field(default_factory=list)


class BambooHREmployee(BaseModel):
    """One entry of a field-based webhook's ``employees``."""

    model_config = ConfigDict(extra="allow")

    id: str | int
    action: str | None = None
    changedFields: list[str] = Field(default_factory=list)
    fields: dict[str, Any] = Field(default_factory=dict)


class BambooHRWebhook(BaseModel):
    """Either ``{"type", "timestamp", "data"}`` or ``{"employees": [...], "fields": {...}}``."""

    model_config = ConfigDict(extra="allow")

    type: str | None = Field(default=None, max_length=255)
    timestamp: str | None = None
    data: BambooHREventData | None = None
    employees: list[BambooHREmployee] | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> BambooHRWebhook:
        if self.employees is None and (self.type is None or self.data is None):
            raise ValueError(
                "expected 'type' and 'data' (event-based) or 'employees' (field-based)"
            )
        return self


def _digest(*parts: Any) -> str:
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def drafts_from(body: BambooHRWebhook, raw: dict[str, Any]) -> list[EventDraft]:
    """Cut a verified BambooHR body into events with derived, stable ids."""
    if body.employees is not None:
        drafts = []
        for employee, raw_employee in zip(body.employees, raw["employees"], strict=True):
            action = (employee.action or "updated").strip().lower() or "updated"
            event_type = f"employee_with_fields.{action}"
            employee_id = check_id(employee.id, "employees[].id")
            drafts.append(
                EventDraft(
                    event_id=f"{employee_id}:{action}:{_digest(event_type, raw_employee)}",
                    event_type=event_type,
                    payload=raw_employee,
                )
            )
        return drafts
    assert body.type is not None and body.data is not None
    data = body.data
    employee_id = check_id(data.employeeId, "data.employeeId")
    changed = sorted(data.changedFields)
    digest = _digest(body.type, data.companyId, employee_id, body.timestamp, changed)
    event_id = f"{employee_id}:{body.type}:{digest}"
    return [EventDraft(event_id=event_id, event_type=body.type, payload=raw)]


class BambooHR(WebhookSource[BambooHRSettings]):
    """BambooHR webhooks."""

    name = "bamboohr"
    settings = BambooHRSettings
    secret_fields = ("bamboohr_secret",)
    scheme = "X-BambooHR-Signature: hex HMAC-SHA256 of body + X-BambooHR-Timestamp"
    summary = "BambooHR webhook delivery"
    body_model = BambooHRWebhook
    kept_headers = frozenset({"x-bamboohr-timestamp"})
    header_docs = {
        "x_bamboohr_signature": "Hex HMAC-SHA256 of body + timestamp.",
        "x_bamboohr_timestamp": "Unix seconds.",
    }
    test_event_summary = "a leaver (terminated)"

    def check(self, settings: BambooHRSettings, headers: Mapping[str, str], body: bytes) -> None:
        check_bamboohr(
            required(settings.bamboohr_secret),
            body,
            timestamp=headers.get("x-bamboohr-timestamp"),
            signature=headers.get("x-bamboohr-signature"),
            window=settings.replay_window_seconds,
            now=time.time,
        )

    def events(self, delivery: VerifiedEvent) -> list[EventDraft]:
        body = validate_shape(BambooHRWebhook, delivery.payload, "a BambooHR webhook")
        return drafts_from(body, delivery.payload)

    def test_event(self, email: str, requested_by: str) -> dict[str, Any]:
        return {
            "employees": [{
                "id": str(uuid.uuid4())[:8],
                "action": "Updated",
                "changedFields": ["employmentHistoryStatus"],
                "fields": {"employmentHistoryStatus": {"value": "Terminated"},
                           "workEmail": {"value": email}},
            }],
            "fields": {"employmentHistoryStatus": "Employment Status", "workEmail": "Work Email"},
        }  # fmt: skip

    def sign(self, settings: BambooHRSettings, body: bytes, now: int) -> dict[str, str]:
        stamp = str(now)
        return {
            "x-bamboohr-timestamp": stamp,
            "x-bamboohr-signature": sign_bamboohr(
                required(settings.bamboohr_secret).get_secret_value(), body, stamp
            ),
        }


SOURCE = BambooHR()
