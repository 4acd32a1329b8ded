"""The webhook service behind ``arize-runbooks serve``.

HR, identity and ticket webhooks come in, are verified over their raw bytes, stored in a
durable inbox and turned into exactly one Prefect flow run per event by the forwarder.
"""

from webhooks.app import create_app, lifespan
from webhooks.errors import (
    InboxUnavailable,
    InvalidSignature,
    MalformedRequest,
    PayloadTooLarge,
    SourceNotConfigured,
    UnprocessablePayload,
    WebhookError,
)
from webhooks.forwarder import Forwarder, ForwardSummary
from webhooks.inbox import Inbox
from webhooks.inbox_records import EventStatus, InboxEvent, NewEvent
from webhooks.routing import Router, RoutingConfigError, Unroutable
from webhooks.settings import Settings

__all__ = [
    "EventStatus",
    "ForwardSummary",
    "Forwarder",
    "Inbox",
    "InboxEvent",
    "InboxUnavailable",
    "InvalidSignature",
    "MalformedRequest",
    "NewEvent",
    "PayloadTooLarge",
    "Router",
    "RoutingConfigError",
    "Settings",
    "SourceNotConfigured",
    "UnprocessablePayload",
    "Unroutable",
    "WebhookError",
    "create_app",
    "lifespan",
]
