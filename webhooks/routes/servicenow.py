"""ServiceNow outbound REST messages and Jira Service Management automation web requests.

Neither signs its requests, so the endpoint takes ``Authorization: Bearer <token>`` or Basic
credentials. The body is the JSON the admin configured; this service reads ``event_type``
(default ``request``) and an event id from the ``Idempotency-Key`` header, the body's
``event_id``, or failing both a hash of the exact body (so a resend of the same body dedupes).
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, ConfigDict, Field

from webhooks.deps import ForwarderDep, InboxDep, RouterDep, VerifiedServiceNow
from webhooks.receiver import EventDraft, Receipt, accept, check_id, set_status, validate_shape

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
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ServiceNowRequest.model_json_schema()}},
        }
    },
)
async def receive(
    delivery: VerifiedServiceNow,
    inbox: InboxDep,
    routing: RouterDep,
    forwarder: ForwarderDep,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(description="Event id; wins over the body's event_id.")
    ] = None,
) -> Receipt:
    """Store the request; routes send offboarding / onboarding requests to their runbooks."""
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
        inbox=inbox,
        router=routing,
        forwarder=forwarder,
    )
    return set_status(response, receipt)
