"""Clients and seed lookups for the arize_admin tests, on top of the shared emulator fixture.

Each test that takes ``admin``, ``control`` or ``as_user`` runs twice:

- ``[loopback]``: against `arize` (tests/fixtures/arize.py), one emulator per session on a
  loopback port, reset to the demo seed before each test; the client builds its own
  ``httpx.AsyncClient``, as in production. Tier `real`.
- ``[in_process]``: against a fresh emulator app of its own, through ``httpx.ASGITransport``
  handed to the client's ``http_client``: no port, no thread. Tier `check` (`make check`).

A test that takes `arize` itself (the control plane's sync helpers), or is marked `real`
(it needs a socket: a dropped connection, a read timeout), runs on loopback only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from arize_admin import AsyncArizeAdmin
from emulator.arize import create_app
from tests.fixtures.arize import ADMIN_KEY, ArizeTarget

AsUser = Callable[[str], Awaitable[AsyncArizeAdmin]]

LOOPBACK, IN_PROCESS = "loopback", "in_process"
#: Where the in-process emulator answers; httpx.ASGITransport never resolves it.
IN_PROCESS_URL = "http://arize-emulator.test"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "emulator_transport" not in metafunc.fixturenames:
        return
    transports = [pytest.param(LOOPBACK, marks=pytest.mark.real)]
    if "arize" not in metafunc.fixturenames and not metafunc.definition.get_closest_marker("real"):
        transports.append(pytest.param(IN_PROCESS))
    metafunc.parametrize("emulator_transport", transports)


@dataclass
class Emulator:
    """The emulator a test's clients talk to: its base URL and, in process, the transport."""

    base_url: str
    transport: httpx.AsyncBaseTransport | None
    opened: list[httpx.AsyncClient] = field(default_factory=list)

    def http_client(self) -> httpx.AsyncClient | None:
        """For the in-process emulator, an ``httpx.AsyncClient`` on its app (closed with the
        fixture); on loopback None: the client builds its own, as in production."""
        if self.transport is None:
            return None
        client = httpx.AsyncClient(transport=self.transport, base_url=self.base_url)
        self.opened.append(client)
        return client

    def client(self, api_key: str, max_retries: int) -> AsyncArizeAdmin:
        """An ``AsyncArizeAdmin`` on this emulator."""
        return AsyncArizeAdmin(
            api_key=api_key, base_url=self.base_url, max_retries=max_retries,
            http_client=self.http_client(),
        )


@pytest.fixture
async def emulator(
    request: pytest.FixtureRequest, emulator_transport: str
) -> AsyncIterator[Emulator]:
    """The session's loopback emulator (reset), or a fresh in-process one."""
    if emulator_transport == LOOPBACK:
        arize: ArizeTarget = request.getfixturevalue("arize")
        yield Emulator(base_url=arize.base_url, transport=None)
        return
    app = create_app(seed="demo", admin_key=ADMIN_KEY)
    found = Emulator(base_url=IN_PROCESS_URL, transport=httpx.ASGITransport(app=app))
    yield found
    for client in found.opened:
        await client.aclose()


@pytest.fixture
async def admin(emulator: Emulator) -> AsyncIterator[AsyncArizeAdmin]:
    """A client acting as the seeded account admin."""
    async with emulator.client(ADMIN_KEY, max_retries=3) as client:
        yield client


@pytest.fixture
async def control(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client for the emulator's control plane (`/_emulator/...`)."""
    in_process = emulator.http_client()
    if in_process is not None:
        async with in_process:
            yield in_process
        return
    async with httpx.AsyncClient(base_url=emulator.base_url, trust_env=False) as client:
        yield client


@pytest.fixture
async def as_user(emulator: Emulator, control: httpx.AsyncClient) -> AsyncIterator[AsUser]:
    """Factory: a client acting as any user, with a key issued by the control plane."""
    clients: list[AsyncArizeAdmin] = []

    async def make(user_id: str) -> AsyncArizeAdmin:
        response = await control.post("/_emulator/keys", json={"user_id": user_id})
        response.raise_for_status()
        client = emulator.client(response.json()["key"], max_retries=0)
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
