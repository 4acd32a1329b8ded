"""When to retry a request and how long to wait: the only place retry policy lives.

One rule says which failures are transient (`is_transient_status`, `RETRYABLE_TRANSPORT_ERRORS`);
the client resends only idempotent methods on them, briefly, and the runbooks' task retries
(`arize_admin.is_transient`) use the same rule for every call, with longer backoff.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping
from datetime import UTC

import httpx

__all__ = [
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "RETRYABLE_METHODS",
    "RETRYABLE_STATUSES",
    "RETRYABLE_TRANSPORT_ERRORS",
    "is_transient_status",
    "is_transient_transport_error",
]

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
# The API takes no idempotency keys, so a POST or PATCH whose answer was lost may have been
# applied: those are never retried here, the caller looks the object up instead.
RETRYABLE_METHODS = frozenset({"GET", "PUT", "DELETE"})
# Statuses that say "not now" rather than "not this": a gateway or backend that timed out,
# throttled us, or failed internally. 501 and 505 are permanent and so are not here.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Failures where no answer came back.
RETRYABLE_TRANSPORT_ERRORS = (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)


def is_transient_status(status: int) -> bool:
    """Whether a call answered with ``status`` may succeed if made again later."""
    return status in RETRYABLE_STATUSES


def is_transient_transport_error(exc: BaseException) -> bool:
    """Whether a call that got no answer (``exc``) may succeed if made again later."""
    return isinstance(exc, RETRYABLE_TRANSPORT_ERRORS)


def _should_retry(method: str, response: httpx.Response) -> bool:
    """Whether the client resends `method` after this error response (409 never is)."""
    return method.upper() in RETRYABLE_METHODS and is_transient_status(response.status_code)


def _should_retry_error(method: str, exc: Exception) -> bool:
    """Whether the client resends `method` after this transport failure."""
    return method.upper() in RETRYABLE_METHODS and is_transient_transport_error(exc)


def _parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Read how long the server asks us to wait, in seconds.

    Understands `retry-after-ms`, and `Retry-After` as delta-seconds or an HTTP date.

    Args:
        headers: response headers (case-insensitive mapping such as `httpx.Headers`).
        now: current Unix time, for tests; defaults to `time.time()`.

    Returns:
        Seconds to wait (a past date gives a negative number), or None if absent or unreadable.
    """
    retry_ms = headers.get("retry-after-ms")
    if retry_ms is not None:
        try:
            value = float(retry_ms) / 1000
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        value = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000" means UTC, with the source zone unknown
            when = when.replace(tzinfo=UTC)
        return when.timestamp() - (time.time() if now is None else now)
    return value if math.isfinite(value) else None


def _calculate_retry_timeout(retries_taken: int, headers: Mapping[str, str] | None = None) -> float:
    """Seconds to sleep before the next try.

    A `Retry-After` in (0, 60] is obeyed as is; otherwise back off exponentially from 0.5 s,
    capped at 8 s, with up to 25 % jitter so that clients that failed together spread out.

    Args:
        retries_taken: retries already made for this request (0 before the first retry).
        headers: headers of the response that failed, if there was one.
    """
    retry_after = _parse_retry_after(headers) if headers is not None else None
    if retry_after is not None and 0 < retry_after <= MAX_RETRY_AFTER:
        return retry_after
    delay = min(INITIAL_RETRY_DELAY * 2.0**retries_taken, MAX_RETRY_DELAY)
    return max(delay * (1 - 0.25 * random.random()), 0.0)
