"""ServiceNow outbound REST messages and Jira Service Management automation web requests.

Neither signs its requests, so the endpoint takes ``Authorization: Bearer <token>`` or Basic
credentials. The body is the JSON the admin configured; this service reads ``event_type``
(default ``request``) and an event id from the ``Idempotency-Key`` header, the body's
``event_id``, or failing both a hash of the exact body (so a resend of the same body dedupes).
"""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from webhooks.deps import header_docs, services, verify_servicenow
from webhooks.receiver import EventDraft, Receipt, accept, check_id, respond, validate_shape

router = APIRouter(prefix="/webhooks/servicenow", tags=["servicenow"])


class ServiceNowRequest(BaseModel):
    """A catalog request / ticket notification (any further fields are kept for routing)."""

    model_config = ConfigDict(extra="allow")

    event_type: str = Field(default="request", min_length=1, max_length=255)
    event_id: str | None = Field(default=None, min_length=1, max_length=255)
    number: str | None = Field(default=None, description="Ticket number, e.g. RITM0010001.")


@router.post(
    "",
    response_model=Receipt,
    status_code=202,
    summary="ServiceNow / JSM automation request",
    openapi_extra={
        "parameters": header_docs(
            authorization="'Bearer <token>' or 'Basic <user:password>'.",
            idempotency_key="Event id; wins over the body's event_id.",
        ),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ServiceNowRequest.model_json_schema()}},
        },
    },
)
async def receive(request: Request) -> Response:
    """Store the request; routes send offboarding / onboarding requests to their runbooks."""
    app = services(request)
    delivery = await verify_servicenow(request, app.settings)
    idempotency_key = request.headers.get("idempotency-key")
    body = validate_shape(ServiceNowRequest, delivery.payload, "a JSON object")
    if idempotency_key is not None:
        event_id = check_id(idempotency_key, "Idempotency-Key")
    elif body.event_id is not None:
        event_id = body.event_id
    else:
        event_id = "sha256:" + hashlib.sha256(delivery.body).hexdigest()[:32]
    draft = EventDraft(event_id=event_id, event_type=body.event_type, payload=delivery.payload)
    receipt = await accept(
        source="servicenow",
        drafts=[draft],
        headers=delivery.headers,
        inbox=app.inbox,
        router=app.router,
        forwarder=app.forwarder,
        metrics=app.metrics,
    )
    return respond(receipt)
