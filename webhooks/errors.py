"""Domain errors of the webhook service; ``create_app`` maps each to an HTTP status.

Routes and dependencies raise these instead of ``HTTPException`` so that the mapping to
status codes lives in one place (as Prefect maps ``ObjectNotFoundError`` to 404).

```
WebhookError
├── SourceNotConfigured     404  the source has no secret configured
├── MalformedRequest        400  body is not JSON / a header is unparsable
├── InvalidSignature        401  missing or wrong signature / credentials, stale timestamp
├── PayloadTooLarge         413  body larger than ``max_body_bytes``
├── UnprocessablePayload    422  valid JSON of the wrong shape
└── InboxUnavailable        503  the inbox could not store the event (sender should retry)
```
"""

from __future__ import annotations


class WebhookError(Exception):
    """Base class: an HTTP status and a message that is safe to send back to the sender."""

    status_code: int = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SourceNotConfigured(WebhookError):
    """The source's secret is unset, so its endpoint is switched off."""

    status_code = 404

    @classmethod
    def naming(cls, source: str, variables: str) -> SourceNotConfigured:
        """The error for ``source`` (``okta``, ..., ``slack``), naming the variables to set."""
        return cls(
            f"the {source} source is not configured: set {variables} for "
            "`arize-runbooks serve` (or rerun `arize-runbooks setup` with it exported) and "
            "restart it"
        )


class MalformedRequest(WebhookError):
    """The body or a header cannot be parsed."""

    status_code = 400


class InvalidSignature(WebhookError):
    """Missing or wrong signature or credentials, or a timestamp outside the replay window.

    The detail sent back is always generic; ``reason`` is for the service's own log.
    """

    status_code = 401

    def __init__(self, reason: str) -> None:
        super().__init__("invalid or missing signature")
        self.reason = reason


class PayloadTooLarge(WebhookError):
    """The body is larger than the configured cap."""

    status_code = 413


class UnprocessablePayload(WebhookError):
    """The body is JSON but not of the shape the source sends."""

    status_code = 422


class InboxUnavailable(WebhookError):
    """The inbox could not store the event; the sender should retry later."""

    status_code = 503
