"""Retry policy: the Retry-After parser, the back-off schedule, and what may be retried."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from arize_admin import (
    APIConnectionError,
    APITimeoutError,
    AsyncArizeAdmin,
    ConflictError,
    InternalServerError,
    RateLimitError,
    is_transient,
)
from arize_admin._exceptions import make_status_error
from arize_admin._retry import (
    _calculate_retry_timeout,
    _parse_retry_after,
    _should_retry,
    _should_retry_error,
)

NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT


def _http_date(offset: float) -> str:
    return email.utils.formatdate(NOW + offset, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "20"}, 20.0),
        ({"Retry-After": " 7 "}, 7.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": "-10"}, -10.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": ""}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": _http_date(20)}, 20.0),
        ({"Retry-After": _http_date(-30)}, -30.0),
        ({"Retry-After": "Tue, 14 Nov 2023 23:13:20 +0100"}, 0.0),
        ({"Retry-After": "Tue, 32 Nov 2023 22:13:20 GMT"}, None),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "junk", "Retry-After": "3"}, 3.0),
    ],
)
def test_parse_retry_after_header(headers: dict[str, str], expected: float | None) -> None:
    assert _parse_retry_after(httpx.Headers(headers), now=NOW) == expected


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("20", 20.0),
        ("60", 60.0),
        ("0.25", 0.25),
    ],
)
def test_retry_after_in_range_is_obeyed(retry_after: str, expected: float) -> None:
    assert _calculate_retry_timeout(0, httpx.Headers({"Retry-After": retry_after})) == expected


@pytest.mark.parametrize("retry_after", ["0", "-10", "61", "3600", "nonsense", None])
@pytest.mark.parametrize(
    ("retries_taken", "ceiling"), [(0, 0.5), (1, 1.0), (3, 4.0), (4, 8.0), (9, 8.0)]
)
def test_otherwise_backs_off_exponentially_with_jitter(
    retry_after: str | None, retries_taken: int, ceiling: float
) -> None:
    headers = httpx.Headers({"Retry-After": retry_after} if retry_after else {})
    for _ in range(50):
        delay = _calculate_retry_timeout(retries_taken, headers)
        assert ceiling * 0.75 <= delay <= ceiling


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "get"])
@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_idempotent_methods_retry_transient_statuses(method: str, status: int) -> None:
    assert _should_retry(method, httpx.Response(status))


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_post_and_patch_are_never_retried(method: str, status: int) -> None:
    assert not _should_retry(method, httpx.Response(status))
    assert not _should_retry_error(method, httpx.ConnectError("refused"))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501, 505])
def test_other_statuses_are_not_retried(status: int) -> None:
    assert not _should_retry("GET", httpx.Response(status))


def test_the_client_and_the_task_retries_share_one_rule() -> None:
    """What the client resends for a GET is exactly what `is_transient` calls transient."""
    request = httpx.Request("GET", "http://127.0.0.1/v2/users")
    for status in range(400, 600):
        response = httpx.Response(status, request=request)
        error = make_status_error(response, method="GET", path="/v2/users")
        raw = httpx.HTTPStatusError("x", request=request, response=response)
        assert _should_retry("GET", response) is is_transient(error) is is_transient(raw), status
    failures = [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("gone"),
        httpx.UnsupportedProtocol("ftp"),
        httpx.LocalProtocolError("bad header"),
    ]
    for failure in failures:
        assert _should_retry_error("GET", failure) is is_transient(failure), failure


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused"),
        httpx.ReadError("reset"),
        httpx.ReadTimeout("slow"),
        httpx.ConnectTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
def test_transport_failures_of_idempotent_methods_are_retried(exc: Exception) -> None:
    assert _should_retry_error("GET", exc)
    assert _should_retry_error("DELETE", exc)


def test_local_mistakes_are_not_retried() -> None:
    assert not _should_retry_error("GET", httpx.UnsupportedProtocol("ftp"))


# Against the emulator's fault injection ------------------------------------------------------


async def _set_faults(control: httpx.AsyncClient, **faults: object) -> None:
    response = await control.put("/_emulator/faults", json=faults)
    response.raise_for_status()


async def _count(control: httpx.AsyncClient, route: str) -> int:
    response = await control.get("/_emulator/requests")
    response.raise_for_status()
    return int(response.json()["by_route"].get(route, 0))


async def _reset_journal(control: httpx.AsyncClient) -> None:
    (await control.delete("/_emulator/requests")).raise_for_status()


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the schedule's shape but not its seconds, so burst tests stay quick."""
    from arize_admin import _client

    real = _client._calculate_retry_timeout
    monkeypatch.setattr(
        _client, "_calculate_retry_timeout", lambda n, headers=None: real(n, headers) / 100
    )


async def test_gets_survive_a_503_burst(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient, fast_backoff: None
) -> None:
    await _set_faults(control, error_rate=0.5, error_statuses=[503], methods=["GET"], seed=7)
    await _reset_journal(control)
    client = admin.with_options(max_retries=8)
    for _ in range(10):
        assert (await client.users.list()).items
    assert await _count(control, "GET /v2/users") > 10  # some were retried


async def test_gets_survive_429_with_retry_after(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient
) -> None:
    await _set_faults(control, rate_limit_rate=0.5, retry_after_s=0.05, methods=["GET"], seed=3)
    await _reset_journal(control)
    client = admin.with_options(max_retries=8)
    for _ in range(6):
        assert (await client.organizations.list()).items
    assert await _count(control, "GET /v2/organizations") > 6


async def test_exhausted_retries_raise_the_last_error(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient, fast_backoff: None
) -> None:
    await _set_faults(control, error_rate=1.0, error_statuses=[503], methods=["GET"])
    await _reset_journal(control)
    with pytest.raises(InternalServerError) as caught:
        await admin.with_options(max_retries=2).users.list()
    assert caught.value.status_code == 503
    assert caught.value.is_transient
    assert await _count(control, "GET /v2/users") == 3


async def test_post_is_sent_exactly_once_under_a_503_fault(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient
) -> None:
    await _set_faults(control, error_rate=1.0, error_statuses=[503], methods=["POST", "PATCH"])
    await _reset_journal(control)
    with pytest.raises(InternalServerError):
        await admin.organizations.create(name="Once")
    assert await _count(control, "POST /v2/organizations") == 1
    acme = await admin.organizations.find_by_name("Acme")
    assert acme is not None
    with pytest.raises(InternalServerError):
        await admin.organizations.update(acme.id, name="Twice")
    assert await _count(control, "PATCH /v2/organizations/{org_id}") == 1


async def test_a_conflict_is_never_retried(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient
) -> None:
    await _reset_journal(control)
    with pytest.raises(ConflictError):
        await admin.organizations.create(name="Acme")
    assert await _count(control, "POST /v2/organizations") == 1


@pytest.mark.real  # a dropped connection, a read timeout: a real socket
async def test_a_lost_post_surfaces_as_connection_error_and_was_applied(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient
) -> None:
    await _set_faults(control, lost_response_rate=1.0, methods=["POST"])
    await _reset_journal(control)
    with pytest.raises(APIConnectionError) as caught:
        await admin.organizations.create(name="Lost")
    assert caught.value.method == "POST"
    assert caught.value.path == "/v2/organizations"
    assert caught.value.is_transient
    assert await _count(control, "POST /v2/organizations") == 1
    await _set_faults(control)
    assert await admin.organizations.find_by_name("Lost") is not None  # look it up, not redo


@pytest.mark.real  # a dropped connection, a read timeout: a real socket
async def test_lost_get_responses_are_retried(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient, fast_backoff: None
) -> None:
    await _set_faults(control, lost_response_rate=0.5, methods=["GET"], seed=11)
    client = admin.with_options(max_retries=8)
    for _ in range(6):
        assert (await client.spaces.list()).items


@pytest.mark.real  # a dropped connection, a read timeout: a real socket
async def test_slow_responses_time_out(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient, fast_backoff: None
) -> None:
    await _set_faults(control, latency_ms=1000, methods=["GET"])
    await _reset_journal(control)
    with pytest.raises(APITimeoutError) as caught:
        await admin.with_options(timeout=0.2, max_retries=1).users.list()
    assert caught.value.method == "GET"
    assert caught.value.is_transient
    assert await _count(control, "GET /v2/users") >= 1


async def test_rate_limit_after_retries_is_a_rate_limit_error(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient
) -> None:
    await _set_faults(control, rate_limit_rate=1.0, retry_after_s=0.01)
    await _reset_journal(control)
    with pytest.raises(RateLimitError) as caught:
        await admin.with_options(max_retries=2).spaces.list()
    error = caught.value
    assert error.status_code == 429
    assert error.retry_after == 0.01
    assert error.is_transient
    assert error.method == "GET"
    assert error.path == "/v2/spaces"
    assert await _count(control, "GET /v2/spaces") == 3

    with pytest.raises(RateLimitError):  # a POST is not retried, even on 429
        await admin.projects.create(name="later", space_id="U3BhY2U6MTpEd3FD")
    assert await _count(control, "POST /v2/projects") == 1


async def test_two_503s_then_success_for_delete(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient, fast_backoff: None
) -> None:
    org = await admin.organizations.create(name="Flaky")
    await _set_faults(control, error_rate=1.0, error_statuses=[503], max_faults=2)
    await _reset_journal(control)
    await admin.organizations.delete(org.id)
    assert await _count(control, "DELETE /v2/organizations/{org_id}") == 3
