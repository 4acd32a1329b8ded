"""Error mapping from responses, messages, fields and the transient predicate."""

from __future__ import annotations

import httpx
import pytest

import arize_admin
from arize_admin import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ArizeError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    is_transient,
)
from arize_admin._exceptions import make_status_error

PROBLEM_TYPE = "https://arize.com/docs/ax/rest-reference/errors#resource-conflict"


def _problem_response(status: int, **extra: object) -> httpx.Response:
    body = {"type": PROBLEM_TYPE, "title": "Conflict", "status": status, **extra}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_each_status_maps_to_one_class(status: int, cls: type[APIStatusError]) -> None:
    error = make_status_error(_problem_response(status), method="GET", path="/v2/x")
    assert type(error) is cls
    assert isinstance(error, APIStatusError)
    assert isinstance(error, ArizeError)
    assert error.status_code == status


def test_fields_and_message_come_from_the_problem() -> None:
    response = _problem_response(
        409, detail="An organization named 'Acme' already exists.", request_id="req_01HZY6X8E7"
    )
    error = make_status_error(response, method="POST", path="/v2/organizations")
    assert isinstance(error, ConflictError)
    assert error.title == "Conflict"
    assert error.detail == "An organization named 'Acme' already exists."
    assert error.method == "POST"
    assert error.path == "/v2/organizations"
    assert error.request_id == "req_01HZY6X8E7"
    assert error.problem is not None
    assert error.problem.type == PROBLEM_TYPE
    assert str(error) == (
        "POST /v2/organizations: 409 Conflict: An organization named 'Acme' already exists."
    )


def test_a_non_problem_body_falls_back_to_the_reason_phrase() -> None:
    response = httpx.Response(502, text="<html>bad gateway</html>", headers={"x-request-id": "r1"})
    error = make_status_error(response, method="GET", path="/v2/users")
    assert isinstance(error, InternalServerError)
    assert error.problem is None
    assert error.detail is None
    assert error.request_id == "r1"
    assert str(error) == "GET /v2/users: 502 Bad Gateway"
    assert "html" not in str(error)


def test_any_json_media_type_is_read() -> None:
    response = httpx.Response(
        404,
        content=b'{"title": "Not Found", "status": 404, "detail": "no such user"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    error = make_status_error(response, method="GET", path="/v2/users/abc")
    assert error.detail == "no such user"


def test_rate_limit_carries_retry_after() -> None:
    error = make_status_error(
        _problem_response(429), method="GET", path="/v2/users", retry_after=2.0
    )
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 2.0


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (408, True),
        (409, False),
        (422, False),
        (429, True),
        (500, True),
        (501, False),
        (502, True),
        (503, True),
        (504, True),
        (505, False),
    ],
)
def test_is_transient_by_status(status: int, transient: bool) -> None:
    error = make_status_error(_problem_response(status), method="GET", path="/v2/x")
    assert error.is_transient is transient
    assert is_transient(error) is transient


def test_is_transient_for_transport_errors() -> None:
    assert APIConnectionError(method="POST", path="/v2/users").is_transient
    assert APITimeoutError(method="GET", path="/v2/users").is_transient
    assert is_transient(httpx.ConnectError("refused"))
    assert is_transient(httpx.ReadTimeout("slow"))
    assert not is_transient(ValueError("no"))
    assert not is_transient(ArizeError("plain"))


def test_connection_error_message_names_the_call() -> None:
    error = APITimeoutError(method="GET", path="/v2/spaces")
    assert isinstance(error, APIConnectionError)
    assert str(error) == "GET /v2/spaces: Request timed out."


def test_exported_members_are_sorted_and_complete() -> None:
    exported = arize_admin.__all__
    assert sorted(exported, key=lambda n: (not n.isupper(), not n[0].isupper(), n)) == exported
    public = {n for n in dir(arize_admin) if not n.startswith("_")}
    assert set(exported) <= public
    for module in (arize_admin.types,):
        assert set(module.__all__) == {n for n in dir(module) if not n.startswith("_")} - {
            "annotations"
        }
