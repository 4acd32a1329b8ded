"""Helpers for the emulator's fidelity tests: raw httpx clients acting as demo users.

Tests here speak HTTP as Arize's public API documents it (no project client); where the
emulator decides what that contract leaves open is listed in docs/arize-admin-api.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.fixtures.arize import ArizeTarget


def path_id(value: str) -> str:
    """Percent-encode an id the way the generated SDK client does (no safe characters)."""
    return quote(value, safe="")


def assert_problem(response: httpx.Response, status: int, *, detail: str | None = None) -> dict:
    """Check a Problem body: status, content type and the members the spec names."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    for member in ("type", "title", "detail", "instance", "request_id"):
        assert member in body, member
    assert body["type"].startswith("https://arize.com/docs/ax/rest-reference/errors#")
    if detail is not None:
        assert detail.lower() in body["detail"].lower(), body["detail"]
    return body


@dataclass
class Demo:
    """Ids of the demo seed's objects, by name."""

    org: str
    users: dict[str, str]
    spaces: dict[str, str]
    projects: dict[str, str]
    roles: dict[str, str]


def _client(base_url: str, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=10, trust_env=False)


@pytest.fixture
def admin(arize: ArizeTarget) -> Iterator[httpx.Client]:
    """An httpx client authenticated as the account admin (Avery Admin)."""
    with _client(arize.base_url, arize.admin_key) as client:
        yield client


@pytest.fixture
def anon(arize: ArizeTarget) -> Iterator[httpx.Client]:
    """An httpx client without credentials."""
    with _client(arize.base_url, None) as client:
        yield client


@pytest.fixture
def as_user(arize: ArizeTarget) -> Iterator[Callable[[str], httpx.Client]]:
    """Factory: a client acting as the user with this email or id (key issued per call)."""
    clients: list[httpx.Client] = []

    def make(who: str) -> httpx.Client:
        user_id = arize.user_id(who) if "@" in who else who
        client = _client(arize.base_url, arize.key_for(user_id))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def demo(admin: httpx.Client) -> Demo:
    """Look the demo seed up through the API."""

    def all_items(path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        return admin.get(path, params={"limit": 100, **params}).json()[key]

    return Demo(
        org=all_items("/v2/organizations", "organizations", name="Acme")[0]["id"],
        users={u["email"]: u["id"] for u in all_items("/v2/users", "users")},
        spaces={s["name"]: s["id"] for s in all_items("/v2/spaces", "spaces")},
        projects={p["name"]: p["id"] for p in all_items("/v2/projects", "projects")},
        roles={r["name"]: r["id"] for r in all_items("/v2/roles", "roles")},
    )
