"""Clients and seed lookups for the arize_admin tests, on top of the shared emulator fixture.

`arize` (tests/fixtures/arize.py) runs one emulator per session and resets it to the
demo seed before each test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from arize_admin import AsyncArizeAdmin
from tests.fixtures.arize import ArizeTarget

AsUser = Callable[[str], Awaitable[AsyncArizeAdmin]]


@pytest.fixture
async def admin(arize: ArizeTarget) -> AsyncIterator[AsyncArizeAdmin]:
    """A client acting as the seeded account admin."""
    async with AsyncArizeAdmin(
        api_key=arize.admin_key, base_url=arize.base_url, max_retries=3
    ) as client:
        yield client


@pytest.fixture
async def control(arize: ArizeTarget) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client for the emulator's control plane (`/_emulator/...`)."""
    async with httpx.AsyncClient(base_url=arize.base_url, trust_env=False) as client:
        yield client


@pytest.fixture
async def as_user(arize: ArizeTarget, control: httpx.AsyncClient) -> AsyncIterator[AsUser]:
    """Factory: a client acting as any user, with a key issued by the control plane."""
    clients: list[AsyncArizeAdmin] = []

    async def make(user_id: str) -> AsyncArizeAdmin:
        response = await control.post("/_emulator/keys", json={"user_id": user_id})
        response.raise_for_status()
        client = AsyncArizeAdmin(
            api_key=response.json()["key"], base_url=arize.base_url, max_retries=0
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@dataclass
class Seed:
    """Ids of the demo seed, looked up by name through the client."""

    org: str
    spaces: dict[str, str]
    projects: dict[str, str]
    users: dict[str, str]
    roles: dict[str, str]


@pytest.fixture
async def seed(admin: AsyncArizeAdmin) -> Seed:
    org = await admin.organizations.find_by_name("Acme")
    assert org is not None
    spaces = {s.name: s.id async for s in admin.spaces.list(org_id=org.id)}
    projects = {p.name: p.id async for p in admin.projects.list()}
    users = {u.email.split("@")[0]: u.id async for u in admin.users.list()}
    roles = {r.name: r.id async for r in admin.roles.list(is_predefined=False)}
    return Seed(org=org.id, spaces=spaces, projects=projects, users=users, roles=roles)
