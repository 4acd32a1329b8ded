"""The hook through which a caller paces every request a client sends, retries included.

Arize documents a 429 on every endpoint, reads as well as writes, so a caller that shares a rate
limit (several workers, one account) must count each request it sends, not each change it makes:
a lookup before a create, a page of a listing and a client-side retry all reach the API. The
client knows nothing about how the limit is shared; it only enters the gate around each attempt.
The gate comes from the client's ``request_gate`` argument, else from ``request_gate`` (the
context variable below), so a caller can pace every client it creates, in every task, at once.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import Protocol

__all__ = ["RequestGate", "request_gate"]


class RequestGate(Protocol):
    """Entered around each attempt of each request: wait for a turn, then send, then leave.

    Leaving tells the gate when the answer came back (the server had the request by then), which
    a gate can use to space requests as the server saw them rather than as they were sent.
    """

    def request(self, method: str, path: str) -> AbstractAsyncContextManager[None]:
        """The turn of one attempt of ``method path`` (the path without the query)."""
        ...


request_gate: ContextVar[RequestGate | None] = ContextVar("arize_request_gate", default=None)
"""The gate of clients built without one: set it for a run to pace all of the run's clients."""
