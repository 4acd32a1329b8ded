"""The one error the Slack emulator's rules raise: Slack's ``{"ok": false, "error": code}``."""

from __future__ import annotations

from typing import Any


class SlackApiFailure(Exception):
    """A Web API call Slack would answer with ``{"ok": false, "error": code}``.

    Args:
        error: Slack's error code, e.g. ``channel_not_found``.
        messages: Details Slack lists under ``response_metadata.messages``.
        extra: More top-level fields of the answer (``needed`` and ``provided`` of
            ``missing_scope``).
    """

    def __init__(
        self, error: str, *, messages: list[str] | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages or [])
        self.extra = dict(extra or {})

    def to_api(self) -> dict[str, Any]:
        """The error envelope Slack answers with (HTTP 200)."""
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": list(self.messages)}
        return body
