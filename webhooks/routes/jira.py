"""Jira Cloud admin webhooks, signed with ``X-Hub-Signature: sha256=...``.

The dedupe key is ``X-Atlassian-Webhook-Identifier``: unique per delivery within the site and
unchanged across Jira's retries. The event type is the body's ``webhookEvent``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, ConfigDict, Field

from webhooks.deps import ForwarderDep, InboxDep, RouterDep, VerifiedJira
from webhooks.errors import MalformedRequest
from webhooks.receiver import EventDraft, Receipt, accept, set_status, validate_shape

router = APIRouter(prefix="/webhooks/jira", tags=["jira"])


class JiraIssue(BaseModel):
    """The issue (fields are whatever the site has, custom fields included)."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    key: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)


class JiraWebhook(BaseModel):
    """A Jira webhook body."""

    model_config = ConfigDict(extra="allow")

    webhookEvent: str = Field(min_length=1, max_length=255)
    timestamp: int | None = None
    issue_event_type_name: str | None = None
    issue: JiraIssue | None = None


@router.post(
    "",
    response_model=Receipt,
    status_code=202,
    summary="Jira Cloud webhook delivery",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": JiraWebhook.model_json_schema()}},
        }
    },
)
async def receive(
    delivery: VerifiedJira,
    inbox: InboxDep,
    routing: RouterDep,
    forwarder: ForwarderDep,
    response: Response,
    x_atlassian_webhook_identifier: Annotated[
        str | None, Header(description="Delivery id, unchanged across retries (dedupe key).")
    ] = None,
) -> Receipt:
    """Store the issue event; routes pick onboarding / restriction issues by type or label."""
    if not x_atlassian_webhook_identifier or not x_atlassian_webhook_identifier.strip():
        raise MalformedRequest("missing X-Atlassian-Webhook-Identifier")
    body = validate_shape(JiraWebhook, delivery.payload, "a Jira webhook")
    draft = EventDraft(
        event_id=x_atlassian_webhook_identifier.strip(),
        event_type=body.webhookEvent,
        payload=delivery.payload,
    )
    receipt = await accept(
        source="jira",
        drafts=[draft],
        headers=delivery.headers,
        inbox=inbox,
        router=routing,
        forwarder=forwarder,
    )
    return set_status(response, receipt)
