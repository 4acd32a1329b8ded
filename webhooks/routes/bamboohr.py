"""BambooHR webhooks: event-based (``employee.*``) and field-based (``employees[]``) bodies.

BambooHR sends no event id, so one is derived from what identifies the change (guide §10B):
event type, company, employee, the event's own timestamp and the changed fields. A
redelivery of the same change gets the same id. A field-based body is split per employee,
with event type ``employee_with_fields.<action>``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from webhooks.deps import header_docs, services, verify_bamboohr
from webhooks.receiver import EventDraft, Receipt, accept, check_id, respond, validate_shape

router = APIRouter(prefix="/webhooks/bamboohr", tags=["bamboohr"])


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


@router.post(
    "",
    response_model=Receipt,
    status_code=202,
    summary="BambooHR webhook delivery",
    openapi_extra={
        "parameters": header_docs(
            x_bamboohr_signature="Hex HMAC-SHA256 of body + timestamp.",
            x_bamboohr_timestamp="Unix seconds.",
        ),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": BambooHRWebhook.model_json_schema()}},
        },
    },
)
async def receive(request: Request) -> Response:
    """Store the change(s); terminations are routed to offboard-user by the routing config."""
    app = services(request)
    delivery = await verify_bamboohr(request, app.settings)
    body = validate_shape(BambooHRWebhook, delivery.payload, "a BambooHR webhook")
    receipt = await accept(
        source="bamboohr",
        drafts=drafts_from(body, delivery.payload),
        headers=delivery.headers,
        inbox=app.inbox,
        router=app.router,
        forwarder=app.forwarder,
        metrics=app.metrics,
    )
    return respond(receipt)
