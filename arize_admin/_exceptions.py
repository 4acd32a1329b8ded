"""Errors raised by the Arize admin client.

The hierarchy::

    ArizeError
    ├── APIConnectionError            (no response: connect/read failure, lost response)
    │   └── APITimeoutError
    ├── AmbiguousNameError            (a find_by_name helper matched more than one object)
    └── APIStatusError                (an HTTP error status; carries the parsed Problem)
        ├── BadRequestError           400
        ├── AuthenticationError       401
        ├── PermissionDeniedError     403
        ├── NotFoundError             404
        ├── ConflictError             409
        ├── UnprocessableEntityError  422
        ├── RateLimitError            429  (.retry_after)
        └── InternalServerError       5xx

Messages read ``"<METHOD> <path>: <status> <title>: <detail>"``. They are built from the
Problem's `title` and `detail` only: never from request headers (the bearer key) nor from a
raw response body (key endpoints return secrets).
"""

from __future__ import annotations

from typing import Any

import httpx

from ._retry import is_transient_status, is_transient_transport_error
from .types import Problem

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AmbiguousNameError",
    "ArizeError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
    "is_transient",
]


class ArizeError(Exception):
    """Root of every error this package raises."""

    @property
    def is_transient(self) -> bool:
        """Whether trying the same call again later may succeed."""
        return False


class AmbiguousNameError(ArizeError):
    """A name lookup matched several objects (space names are unique per org only)."""

    def __init__(self, name: str, ids: list[str]) -> None:
        super().__init__(f"name {name!r} matches {len(ids)} objects: {', '.join(ids)}")
        self.name = name
        self.ids = ids


class APIConnectionError(ArizeError):
    """No usable response arrived; a POST may or may not have been applied.

    Attributes:
        method: HTTP method of the failed request.
        path: URL path of the failed request.
    """

    def __init__(self, *, method: str, path: str, message: str = "Connection error.") -> None:
        super().__init__(f"{method} {path}: {message}")
        self.method = method
        self.path = path

    @property
    def is_transient(self) -> bool:
        return True


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(self, *, method: str, path: str) -> None:
        super().__init__(method=method, path=path, message="Request timed out.")


class APIStatusError(ArizeError):
    """The API answered with an error status.

    Attributes:
        status_code: HTTP status.
        title: Problem `title`, or the reason phrase.
        detail: Problem `detail`, the API's own explanation, if any.
        method: HTTP method of the request.
        path: URL path of the request (ids percent-encoded as sent).
        request_id: Problem `request_id` or the `x-request-id` header, if any.
        problem: the parsed RFC 9457 body, or None when the body was not a Problem.
    """

    def __init__(
        self,
        *,
        status_code: int,
        title: str,
        detail: str | None,
        method: str,
        path: str,
        request_id: str | None = None,
        problem: Problem | None = None,
    ) -> None:
        message = f"{method} {path}: {status_code} {title}"
        if detail:
            message = f"{message}: {detail}"
        super().__init__(message)
        self.status_code = status_code
        self.title = title
        self.detail = detail
        self.method = method
        self.path = path
        self.request_id = request_id
        self.problem = problem

    @property
    def is_transient(self) -> bool:
        return is_transient_status(self.status_code)


class BadRequestError(APIStatusError):
    """400: the request is malformed or breaks a rule (e.g. annotator role constraints)."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, invalid, expired or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the caller lacks the permission."""


class NotFoundError(APIStatusError):
    """404: the object does not exist or the caller cannot see it."""


class ConflictError(APIStatusError):
    """409: a uniqueness or state conflict; never retried, look the object up instead."""


class UnprocessableEntityError(APIStatusError):
    """422: the body is well-formed but refused (role above the caller, expiry too late, ...)."""


class RateLimitError(APIStatusError):
    """429: too many requests.

    Attributes:
        retry_after: seconds the server asked to wait, if it said.
    """

    retry_after: float | None = None


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _parse_problem(response: httpx.Response) -> Problem | None:
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (content_type == "application/json" or content_type.endswith("+json")):
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        return Problem.model_validate(data)
    except ValueError:
        return None


def make_status_error(
    response: httpx.Response, *, method: str, path: str, retry_after: float | None = None
) -> APIStatusError:
    """Build the error for an error response: the one place a status picks its class."""
    status = response.status_code
    problem = _parse_problem(response)
    title = (problem.title if problem else None) or response.reason_phrase or "Error"
    detail = problem.detail if problem else None
    request_id = (problem.request_id if problem else None) or response.headers.get("x-request-id")
    fields: dict[str, Any] = {
        "status_code": status,
        "title": title,
        "detail": detail,
        "method": method,
        "path": path,
        "request_id": request_id,
        "problem": problem,
    }
    if status >= 500:
        return InternalServerError(**fields)
    error = _STATUS_ERRORS.get(status, APIStatusError)(**fields)
    if isinstance(error, RateLimitError):
        error.retry_after = retry_after
    return error


def is_transient(exc: BaseException) -> bool:
    """Tell whether an exception is worth retrying later (the tasks' `retry_condition_fn`).

    Args:
        exc: any exception.

    Returns:
        True for what `arize_admin._retry` calls transient: connection errors and timeouts
        (ours or raw httpx ones) and the statuses in ``RETRYABLE_STATUSES``.
    """
    if isinstance(exc, ArizeError):
        return exc.is_transient
    if isinstance(exc, httpx.HTTPStatusError):
        return is_transient_status(exc.response.status_code)
    return is_transient_transport_error(exc)
