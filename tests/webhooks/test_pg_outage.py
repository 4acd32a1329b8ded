"""PostgreSQL going away under a burst: the service answers 5xx (the sender retries), never
2xx without a committed row, and recovers by itself once the database is back."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.fixtures.webhooks import WebhookServer, test_settings
from tests.webhooks.backends import allow_connections, database_of, terminate_backends
from tests.webhooks.conftest import Sender, uid
from webhooks.inbox import Inbox

pytestmark = pytest.mark.slow


def _offboard(token: str) -> dict[str, Any]:
    spec = {"email": f"{token}@acme.example", "reason": "outage test"}
    return {"type": "runbook.offboard-user", "data": {"spec": spec}}


async def test_backends_terminated_mid_burst_then_database_refusing_then_recovery(
    postgres_url: str, prefect_harness: str
) -> None:
    database = database_of(postgres_url)
    settings = test_settings(
        inbox_url=postgres_url, prefect_api_url=prefect_harness, forwarder_enabled=False
    )
    statuses: dict[str, list[int]] = {}

    async def deliver(sender: Sender, msg_id: str) -> int:
        response = await sender.generic(_offboard(msg_id), msg_id=msg_id)
        statuses.setdefault(msg_id, []).append(response.status_code)
        return response.status_code

    with WebhookServer(settings) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            sender = Sender(http)
            gate = asyncio.Semaphore(25)

            async def limited(msg_id: str) -> int:
                async with gate:
                    return await deliver(sender, msg_id)

            # 1. A burst while every backend of the inbox is terminated, again and again.
            burst = [uid("msg_") for _ in range(150)]
            stop = asyncio.Event()
            terminated = 0

            async def kill_backends() -> None:
                nonlocal terminated
                while not stop.is_set():
                    terminated += await terminate_backends(database)
                    await asyncio.sleep(0.02)

            killer = asyncio.create_task(kill_backends())
            try:
                codes = await asyncio.gather(*(limited(m) for m in burst))
            finally:
                stop.set()
                await killer
            assert terminated > 0
            assert set(codes) <= {202, 500, 503}, codes

            # 2. The database refuses connections: every delivery is a 5xx, /readyz says so.
            await allow_connections(database, False)
            try:
                refused = [uid("msg_") for _ in range(10)]
                codes_down = await asyncio.gather(*(limited(m) for m in refused))
                assert all(code >= 500 for code in codes_down), codes_down
                ready = await http.get("/readyz")
                assert ready.status_code == 503
                assert ready.json()["detail"] == "down: inbox"
                assert (await http.get("/healthz")).status_code == 200
            finally:
                await allow_connections(database, True)

            # 3. Back: the sender's retries of everything not acknowledged go through.
            unacked = [m for m, seen in statuses.items() if 202 not in seen]
            assert len(unacked) >= 10  # at least the refused ones
            retried = await asyncio.gather(*(limited(m) for m in unacked))
            assert retried == [202] * len(unacked), retried
            assert (await http.get("/readyz")).status_code == 200

    # No 2xx without a committed row; nothing lost after the retries; nothing doubled.
    async with Inbox(postgres_url, migrate=False) as inbox:
        stored = {e.event_id for e in await inbox.list(limit=1000)}
        assert stored == set(statuses)
        assert await terminate_backends(database) >= 1  # this very inbox's connection
        stats = await inbox.stats()  # the pool heals itself after a termination too
    assert stats.pending == len(statuses)
