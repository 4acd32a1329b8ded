"""Jira Cloud admin webhooks, signed with ``X-Hub-Signature: sha256=...``.

The event id is ``X-Atlassian-Webhook-Identifier``: unique per delivery within the site and
unchanged across Jira's retries. Jira signs the body but not that header, so a captured body
could be replayed under a new identifier; the signed body's own ``webhookEvent``, issue id
and ``timestamp`` are a second dedupe key (``content_key``), so such a replay is a duplicate
too. A body without an issue id or a timestamp has only the identifier. The event type is
the body's ``webhookEvent``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from webhooks.deps import header_docs, services, verify_jira
from webhooks.errors import MalformedRequest
from webhooks.receiver import EventDraft, Receipt, accept, respond, validate_shape

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


def content_key(body: JiraWebhook) -> str | None:
    """The event's key in the signed body, ``<webhookEvent>:<issue.id>@<timestamp>``, or
    ``None`` when the body has no issue id or no timestamp."""
    if body.issue is None or not body.issue.id or body.timestamp is None:
        return None
    return f"{body.webhookEvent}:{body.issue.id}@{body.timestamp}"


@router.post(
    "",
    response_model=Receipt,
    status_code=202,
    summary="Jira Cloud webhook delivery",
    openapi_extra={
        "parameters": header_docs(
            x_hub_signature="sha256=<hex HMAC-SHA256 of the body>.",
            x_atlassian_webhook_identifier=(
                "Delivery id, unchanged across retries (dedupe key). Not signed: the body's "
                "webhookEvent, issue.id and timestamp are a second dedupe key."
            ),
        ),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": JiraWebhook.model_json_schema()}},
        },
    },
)
async def receive(request: Request) -> Response:
    """Store the issue event; routes pick onboarding / restriction issues by type or label."""
    app = services(request)
    delivery = await verify_jira(request, app.settings)
    x_atlassian_webhook_identifier = request.headers.get("x-atlassian-webhook-identifier")
    if not x_atlassian_webhook_identifier or not x_atlassian_webhook_identifier.strip():
        raise MalformedRequest("missing X-Atlassian-Webhook-Identifier")
    body = validate_shape(JiraWebhook, delivery.payload, "a Jira webhook")
    draft = EventDraft(
        event_id=x_atlassian_webhook_identifier.strip(),
        event_type=body.webhookEvent,
        payload=delivery.payload,
        content_key=content_key(body),
    )
    receipt = await accept(
        source="jira",
        drafts=[draft],
        headers=delivery.headers,
        inbox=app.inbox,
        router=app.router,
        forwarder=app.forwarder,
        metrics=app.metrics,
    )
    return respond(receipt)
