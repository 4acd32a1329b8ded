"""Constructor, environment fallbacks, options and request encoding (no server needed)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from enum import StrEnum

import httpx
import pytest
from pydantic import SecretStr

from arize_admin import DEFAULT_BASE_URL, AsyncArizeAdmin
from arize_admin._client import _encode_params, _RateLimiter
from arize_admin._resource import path_id
from tests.fixtures.arize import ArizeTarget


async def test_requires_an_api_key() -> None:
    with pytest.raises(ValueError, match="API key"):
        AsyncArizeAdmin()
    with pytest.raises(ValueError, match="API key"):
        AsyncArizeAdmin(api_key=SecretStr(""))


async def test_env_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARIZE_API_KEY", "ak-from-env")
    monkeypatch.setenv("ARIZE_BASE_URL", "http://127.0.0.1:9/")
    async with AsyncArizeAdmin() as client:
        assert client.api_key.get_secret_value() == "ak-from-env"
        assert client.base_url == "http://127.0.0.1:9"


async def test_base_url_and_region() -> None:
    async with AsyncArizeAdmin(api_key="k") as client:
        assert client.base_url == DEFAULT_BASE_URL
    async with AsyncArizeAdmin(api_key="k", region="eu-west-1a") as client:
        assert client.base_url == "https://api.eu-west-1a.arize.com"
    async with AsyncArizeAdmin(api_key="k", base_url="https://api.arize.com/v2/") as client:
        assert client.base_url == "https://api.arize.com"
    with pytest.raises(ValueError, match="not both"):
        AsyncArizeAdmin(api_key="k", base_url="http://x", region="eu-west-1a")


async def test_with_options_shares_the_pool_and_keeps_the_key() -> None:
    async with AsyncArizeAdmin(api_key="k", max_retries=3, max_concurrency=4) as client:
        other = client.with_options(max_retries=0, timeout=5.0)
        assert other.max_retries == 0
        assert other.timeout == 5.0
        assert other.max_concurrency == 4
        assert other._http is client._http
        assert other._semaphore is client._semaphore
        assert other.api_key.get_secret_value() == "k"
        await other.aclose()  # the copy does not own the pool
        assert not client._http.is_closed
        assert client.with_options(max_concurrency=2)._semaphore is not client._semaphore
    assert client._http.is_closed


async def test_injected_http_client_is_not_closed() -> None:
    async with httpx.AsyncClient() as http:
        async with AsyncArizeAdmin(api_key="k", http_client=http):
            pass
        assert not http.is_closed


async def test_resources_are_cached_attributes() -> None:
    async with AsyncArizeAdmin(api_key="k") as client:
        assert client.users is client.users
        for name in (
            "users",
            "organizations",
            "spaces",
            "projects",
            "roles",
            "role_bindings",
            "resource_restrictions",
            "api_keys",
            "audit_logs",
        ):
            assert getattr(client, name)._client is client


class _Color(StrEnum):
    RED = "RED"


def test_query_encoding() -> None:
    pairs = _encode_params(
        {
            "a": None,
            "flag": False,
            "on": True,
            "status": ["ACTIVE", _Color.RED],
            "color": _Color.RED,
            "n": 5,
            "at": datetime(2025, 1, 1, tzinfo=UTC),
            "naive": datetime(2025, 1, 2),
        }
    )
    assert pairs == [
        ("flag", "false"),
        ("on", "true"),
        ("status", "ACTIVE"),
        ("status", "RED"),
        ("color", "RED"),
        ("n", "5"),
        ("at", "2025-01-01T00:00:00.000000+0000"),
        ("naive", "2025-01-02T00:00:00.000000"),
    ]


def test_path_ids_are_encoded_without_safe_characters() -> None:
    assert path_id("VXNlcjoxOmFCY0Q=") == "VXNlcjoxOmFCY0Q%3D"
    assert path_id("a+b/c") == "a%2Bb%2Fc"
    with pytest.raises(ValueError):
        path_id("")


async def test_list_refuses_a_limit_out_of_range() -> None:
    async with AsyncArizeAdmin(api_key="k") as client:
        with pytest.raises(ValueError, match="limit"):
            client.users.list(limit=0)
        with pytest.raises(ValueError, match="limit"):
            client.users.list(limit=101)


async def test_empty_updates_are_refused_before_any_call() -> None:
    async with AsyncArizeAdmin(api_key="k", base_url="http://127.0.0.1:9") as client:
        with pytest.raises(ValueError):
            await client.users.update("VXNlcjox")
        with pytest.raises(ValueError):
            await client.organizations.update("T3Jn")
        with pytest.raises(ValueError):
            await client.spaces.update("U3Bh")
        with pytest.raises(ValueError):
            await client.roles.update("Um9s")
        with pytest.raises(ValueError):
            await client.roles.create(name="r", permissions=[])


# On the wire, observed through an injected httpx client's event hooks --------------------------


async def test_wire_format(arize: ArizeTarget) -> None:
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    async with (
        httpx.AsyncClient(event_hooks={"request": [record]}) as http,
        AsyncArizeAdmin(
            api_key=arize.admin_key, base_url=arize.base_url, http_client=http
        ) as client,
    ):
        invited = await client.users.create(
            name="Wire", email="wire@acme.example", role="MEMBER", invite_mode="EMAIL_LINK"
        )
        await client.users.resend_invitation(invited.id)
        resend = sent[-1]
        assert resend.method == "POST"
        assert resend.content == b""
        assert "content-type" not in resend.headers
        assert resend.headers["authorization"] == f"Bearer {arize.admin_key}"

        org = await client.organizations.find_by_name("Acme")
        assert org is not None
        await client.organizations.update(org.id, description=None)
        patch = sent[-1]
        assert patch.method == "PATCH"
        assert patch.content == b'{"description":null}'
        assert patch.headers["content-type"] == "application/json"
        if "=" in org.id:
            assert org.id.replace("=", "%3D").encode() in patch.url.raw_path

        await client.users.list(status=["ACTIVE", "INVITED"], limit=5).to_list()
        assert sent[-1].url.query == b"status=ACTIVE&status=INVITED&limit=5"
        await client.roles.list(is_predefined=False).to_list()
        assert sent[-1].url.query == b"is_predefined=false"

        await client.api_keys.revoke((await client.api_keys.create_user_key(name="w")).id)
        assert sent[-1].method == "PUT"
        assert sent[-1].content == b""


async def test_max_concurrency_caps_requests_in_flight(arize: ArizeTarget) -> None:
    in_flight = 0
    peak = 0

    async def started(request: httpx.Request) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)

    async def finished(response: httpx.Response) -> None:
        nonlocal in_flight
        in_flight -= 1

    async with (
        httpx.AsyncClient(base_url=arize.base_url) as control,
        httpx.AsyncClient(event_hooks={"request": [started], "response": [finished]}) as http,
        AsyncArizeAdmin(
            api_key=arize.admin_key,
            base_url=arize.base_url,
            http_client=http,
            max_concurrency=2,
        ) as client,
    ):
        (await control.put("/_emulator/faults", json={"latency_ms": 30})).raise_for_status()
        try:
            pages = await asyncio.gather(*(client.users.list() for _ in range(8)))
        finally:
            (await control.delete("/_emulator/faults")).raise_for_status()
    assert all(page.items for page in pages)
    assert peak == 2
    assert client.request_count == 8


def test_rate_limiter_spaces_request_starts() -> None:
    limiter = _RateLimiter(4)
    assert [limiter.reserve(100.0) for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]
    assert limiter.reserve(102.0) == 0.0  # idle long enough: no wait, no burst credit
    assert limiter.reserve(102.0) == 0.25
    with pytest.raises(ValueError):
        _RateLimiter(0)


async def test_requests_per_second_still_completes(arize: ArizeTarget) -> None:
    async with AsyncArizeAdmin(
        api_key=arize.admin_key, base_url=arize.base_url, requests_per_second=50
    ) as client:
        pages = await asyncio.gather(*(client.spaces.list() for _ in range(5)))
    assert all(page.items for page in pages)
    assert client.with_options(max_retries=0)._limiter is client._limiter
