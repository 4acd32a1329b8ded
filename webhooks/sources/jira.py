"""Jira Cloud admin webhooks, signed with ``X-Hub-Signature: sha256=...``.

The event id is ``X-Atlassian-Webhook-Identifier``: unique per delivery within the site and
unchanged across Jira's retries. Jira signs the body but not that header, so a captured body
could be replayed under a new identifier; the signed body's own ``webhookEvent``, issue id
and ``timestamp`` are a second dedupe key (``content_key``), so such a replay is a duplicate
too. A body without an issue id or a timestamp has only the identifier. The event type is
the body's ``webhookEvent``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from webhooks.errors import MalformedRequest
from webhooks.receiver import EventDraft, validate_shape
from webhooks.source import SourceSettings, VerifiedEvent, WebhookSource, required
from webhooks.verify import check_hub_signature, sign_hub


class JiraSettings(SourceSettings):
    """The Jira source's settings."""

    jira_secret: SecretStr | None = Field(
        default=None, description="Jira admin webhook secret (X-Hub-Signature: sha256=...)."
    )


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


class Jira(WebhookSource[JiraSettings]):
    """Jira Cloud admin webhooks."""

    name = "jira"
    settings = JiraSettings
    secret_fields = ("jira_secret",)
    scheme = "X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>"
    summary = "Jira Cloud webhook delivery"
    body_model = JiraWebhook
    kept_headers = frozenset(
        {"x-atlassian-webhook-identifier", "x-atlassian-webhook-retry", "x-atlassian-webhook-flow"}
    )
    header_docs = {
        "x_hub_signature": "sha256=<hex HMAC-SHA256 of the body>.",
        "x_atlassian_webhook_identifier": (
            "Delivery id, unchanged across retries (dedupe key). Not signed: the body's "
            "webhookEvent, issue.id and timestamp are a second dedupe key."
        ),
    }
    test_event_summary = "a team-onboarding issue"

    def check(self, settings: JiraSettings, headers: Mapping[str, str], body: bytes) -> None:
        check_hub_signature(required(settings.jira_secret), body, headers.get("x-hub-signature"))

    def events(self, delivery: VerifiedEvent) -> list[EventDraft]:
        identifier = delivery.header("x-atlassian-webhook-identifier")
        if not identifier or not identifier.strip():
            raise MalformedRequest("missing X-Atlassian-Webhook-Identifier")
        body = validate_shape(JiraWebhook, delivery.payload, "a Jira webhook")
        return [
            EventDraft(
                event_id=identifier.strip(),
                event_type=body.webhookEvent,
                payload=delivery.payload,
                content_key=content_key(body),
            )
        ]

    def test_event(self, email: str, requested_by: str) -> dict[str, Any]:
        return {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": "jira:issue_created",
            "issue": {"id": str(uuid.uuid4())[:8], "key": "TEST-1", "fields": {
                "summary": f"Onboard {email}",
                "issuetype": {"name": "Team Onboarding"},
                "reporter": {"emailAddress": requested_by},
                "customfield_10051": "fraud-detection",
                "customfield_10052": [{"displayName": email, "emailAddress": email}],
            }},
        }  # fmt: skip

    def sign(self, settings: JiraSettings, body: bytes, now: int) -> dict[str, str]:
        return {
            "x-hub-signature": sign_hub(required(settings.jira_secret).get_secret_value(), body),
            # Jira's delivery id; the service refuses a delivery without one.
            "x-atlassian-webhook-identifier": str(uuid.uuid4()),
        }


SOURCE = Jira()
