"""Any other sender, signed per Standard Webhooks (``webhook-id`` / ``-timestamp`` /
``-signature``). The event type is the body's ``type``; the dedupe key is ``webhook-id``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from webhooks.deps import header_docs, services, verify_generic
from webhooks.receiver import EventDraft, Receipt, accept, check_id, respond, validate_shape

router = APIRouter(prefix="/webhooks/generic", tags=["generic"])


class GenericEvent(BaseModel):
    """The Standard Webhooks payload convention: ``{"type", "timestamp", "data"}``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        min_length=1, max_length=255, description="Event type, e.g. runbook.offboard-user."
    )
    timestamp: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


@router.post(
    "",
    response_model=Receipt,
    status_code=202,
    summary="Standard Webhooks delivery",
    openapi_extra={
        "parameters": header_docs(
            webhook_id="Message id (dedupe key).",
            webhook_timestamp="Unix seconds.",
            webhook_signature="Space-separated 'v1,<base64 HMAC-SHA256>' list.",
        ),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": GenericEvent.model_json_schema()}},
        },
    },
)
async def receive(request: Request) -> Response:
    """Store the event; routes pick the runbook by event type."""
    app = services(request)
    delivery = await verify_generic(request, app.settings)
    body = validate_shape(GenericEvent, delivery.payload, "a Standard Webhooks event")
    event_id = check_id(delivery.header("webhook-id"), "webhook-id")
    receipt = await accept(
        source="generic",
        drafts=[EventDraft(event_id=event_id, event_type=body.type, payload=delivery.payload)],
        headers=delivery.headers,
        inbox=app.inbox,
        router=app.router,
        forwarder=app.forwarder,
        metrics=app.metrics,
    )
    return respond(receipt)
