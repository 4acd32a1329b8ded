"""The request gate: entered around every attempt of every request, retries included, from the
client's argument or from the context variable, against the real emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from arize_admin import AsyncArizeAdmin, request_gate
from tests.fixtures.arize import ArizeTarget


class CountingGate:
    """Records each attempt it let through, and each one that left it, answered or not."""

    def __init__(self) -> None:
        self.entered: list[tuple[str, str]] = []
        self.left = 0

    @asynccontextmanager
    async def request(self, method: str, path: str) -> AsyncIterator[None]:
        self.entered.append((method, path))
        try:
            yield
        finally:
            self.left += 1


async def test_every_attempt_goes_through_the_gate_the_client_was_given(arize: ArizeTarget):
    # Two 429s on GETs, then success: three attempts of one call reach Arize.
    arize.set_faults(max_faults=2, rate_limit_rate=1.0, retry_after_s=0.01, methods=["GET"])
    gate = CountingGate()
    async with AsyncArizeAdmin(
        api_key=arize.admin_key, base_url=arize.base_url, request_gate=gate
    ) as client:
        await client.users.find_by_email("nobody@acme.example")
        sent = client.request_count

    assert sent == len(gate.entered) == gate.left
    assert [method for method, _ in gate.entered[:3]] == ["GET", "GET", "GET"]
    assert gate.entered[0][1] == "/v2/users"


async def test_a_client_without_a_gate_uses_the_one_set_for_the_context(arize: ArizeTarget):
    gate = CountingGate()
    token = request_gate.set(gate)
    try:
        async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
            await client.spaces.find_by_name("no-such-space")
            copy = client.with_options(max_retries=0)
            await copy.users.find_by_email("nobody@acme.example")
            sent = client.request_count + copy.request_count
    finally:
        request_gate.reset(token)

    assert sent == len(gate.entered) == gate.left >= 2
    async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
        await client.users.find_by_email("nobody@acme.example")
    assert len(gate.entered) == sent  # outside the context: not paced


async def test_a_failed_attempt_still_leaves_the_gate(arize: ArizeTarget):
    gate = CountingGate()
    closed = httpx.AsyncClient(transport=httpx.MockTransport(_refuse))
    client = AsyncArizeAdmin(
        api_key=arize.admin_key, base_url=arize.base_url, http_client=closed,
        max_retries=1, request_gate=gate,
    )
    try:
        await client.users.find_by_email("nobody@acme.example")
    except Exception as error:
        assert "ConnectError" in str(error)
    else:
        raise AssertionError("the refused connection was not reported")
    await closed.aclose()
    assert len(gate.entered) == gate.left == 2  # the first attempt and its retry


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)
