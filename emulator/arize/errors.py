"""Typed API errors and the one handler that renders them as RFC 9457 Problem bodies.

The state layer raises these (it knows statuses, not HTTP); the app factory installs
:func:`install_error_handlers`, which is the only place a Problem body is written.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "NotFound",
    "TooManyRequests",
    "Unauthorized",
    "UnprocessableEntity",
    "install_error_handlers",
    "problem_response",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"
_TYPE_BASE = "https://arize.com/docs/ax/rest-reference/errors#"

_TITLES = {
    400: ("Bad Request", "invalid-request"),
    401: ("Unauthorized", "unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("Not Found", "resource-not-found"),
    405: ("Method Not Allowed", "method-not-allowed"),
    409: ("Conflict", "resource-conflict"),
    422: ("Unprocessable Entity", "validation-error"),
    429: ("Too Many Requests", "rate-limit-exceeded"),
    500: ("Internal Server Error", "internal-error"),
    502: ("Bad Gateway", "bad-gateway"),
    503: ("Service Unavailable", "service-unavailable"),
    504: ("Gateway Timeout", "gateway-timeout"),
}


class ApiError(Exception):
    """An error the API answers with a Problem body.

    Attributes:
        status: The HTTP status.
        detail: Occurrence-specific text (never a secret).
    """

    status = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(ApiError):
    """400: invalid parameters or a request the resource's state forbids."""

    status = 400


class Unauthorized(ApiError):
    """401: missing, unknown, revoked or expired API key."""

    status = 401


class Forbidden(ApiError):
    """403: authenticated but not allowed."""

    status = 403


class NotFound(ApiError):
    """404: the object does not exist or the caller may not see it."""

    status = 404


class Conflict(ApiError):
    """409: uniqueness or dependency conflict."""

    status = 409


class UnprocessableEntity(ApiError):
    """422: a well-formed body whose values break a rule (schema, role level, expiry)."""

    status = 422


class TooManyRequests(ApiError):
    """429: rate limited."""

    status = 429


def new_request_id() -> str:
    """Return a request id of the shape in the spec examples (``req_`` + 10 chars)."""
    return "req_" + secrets.token_hex(5).upper()


def problem_body(status: int, detail: str, instance: str, request_id: str) -> dict[str, Any]:
    """Build a Problem object for ``status``."""
    title, slug = _TITLES.get(status, ("Error", "error"))
    return {
        "type": _TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "request_id": request_id,
    }


def problem_response(
    status: int,
    detail: str,
    *,
    instance: str = "",
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Render a Problem body as ``application/problem+json``."""
    rid = request_id or new_request_id()
    return JSONResponse(
        problem_body(status, detail, instance, rid),
        status_code=status,
        media_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def _instance(request: Request) -> str:
    return request.url.path


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _describe_validation(exc: RequestValidationError) -> tuple[int, str]:
    """Bodies that break the schema are 422; bad JSON, query and path values are 400."""
    errors = exc.errors()
    status = 400
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] == "body" and err.get("type") != "json_invalid":
            status = 422
        where = ".".join(p for p in loc[1:] if p not in {"PREDEFINED", "CUSTOM"}) or loc[0]
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    if any(err.get("type") == "json_invalid" for err in errors):
        status = 400
    return status, "; ".join(parts) or "Invalid request."


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into a Problem body."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return problem_response(
            exc.status, exc.detail, instance=_instance(request), request_id=_rid(request)
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, detail = _describe_validation(exc)
        return problem_response(
            status, detail, instance=_instance(request), request_id=_rid(request)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route for {request.method} {request.url.path}."
        return problem_response(
            exc.status_code,
            detail,
            instance=_instance(request),
            request_id=_rid(request),
            headers=dict(exc.headers or {}),
        )
