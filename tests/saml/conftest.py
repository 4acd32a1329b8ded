"""In-process fixtures for the saml-role-mapping planner tests: a fresh emulator app per test
behind ``httpx.ASGITransport`` (no server, no Prefect), as tests/core does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from arize_admin import AsyncArizeAdmin
from emulator.arize import create_app
from tests.fixtures.arize import ADMIN_KEY

BASE_URL = "http://arize.test"
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
async def control() -> AsyncIterator[httpx.AsyncClient]:
    """The emulator app of one test: control plane and /v2 over one in-process client."""
    app = create_app(seed="demo", admin_key=ADMIN_KEY)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as h:
        yield h


@pytest.fixture
async def client(control: httpx.AsyncClient) -> AsyncIterator[AsyncArizeAdmin]:
    async with AsyncArizeAdmin(api_key=ADMIN_KEY, base_url=BASE_URL, http_client=control) as c:
        yield c


@pytest.fixture
def as_user(control: httpx.AsyncClient) -> Callable[[str], Awaitable[AsyncArizeAdmin]]:
    """Factory: a client with a key of the user with this email (issued by the control plane)."""

    async def make(email: str) -> AsyncArizeAdmin:
        async with AsyncArizeAdmin(
            api_key=ADMIN_KEY, base_url=BASE_URL, http_client=control
        ) as admin:
            user = await admin.users.find_by_email(email)
        assert user is not None
        response = await control.post("/_emulator/keys", json={"user_id": user.id})
        response.raise_for_status()
        return AsyncArizeAdmin(
            api_key=response.json()["key"], base_url=BASE_URL, http_client=control, max_retries=0
        )

    return make


async def mutations(control: httpx.AsyncClient) -> int:
    """Mutating /v2 requests the emulator has answered so far."""
    journal = (await control.get("/_emulator/requests")).json()
    return sum(n for route, n in journal["by_route"].items() if route.split()[0] in MUTATING)
