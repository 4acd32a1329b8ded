"""The core's tests run in process: the Arize emulator app behind ``httpx.ASGITransport``.

No server, thread or port: each test gets a freshly seeded emulator app and an
``AsyncArizeAdmin`` whose ``http_client`` talks to it directly, so the planners run exactly as
in a flow, minus the network and Prefect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from arize_admin import AsyncArizeAdmin
from emulator.arize import create_app
from tests.fixtures.arize import ADMIN_KEY

BASE_URL = "http://arize.test"
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class InProcessArize:
    """The emulator app of one test, and an HTTP client on it (for the control plane)."""

    app: FastAPI
    http: httpx.AsyncClient

    async def mutations(self) -> int:
        """Mutating ``/v2`` requests the emulator has answered so far."""
        journal = (await self.http.get("/_emulator/requests")).json()
        return sum(n for route, n in journal["by_route"].items() if route.split()[0] in MUTATING)


@pytest.fixture
async def arize_app() -> AsyncIterator[InProcessArize]:
    app = create_app(seed="demo", admin_key=ADMIN_KEY)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield InProcessArize(app=app, http=http)


@pytest.fixture
async def client(arize_app: InProcessArize) -> AsyncIterator[AsyncArizeAdmin]:
    async with AsyncArizeAdmin(
        api_key=ADMIN_KEY, base_url=BASE_URL, http_client=arize_app.http
    ) as admin:
        yield admin
