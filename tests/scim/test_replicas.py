"""Two service replicas (separate processes) on one PostgreSQL database; one is SIGKILLed in
the middle of an IdP's burst of creates and deactivations. Nothing is lost (every change an
answer confirmed is stored and becomes an inbox event) and nothing is duplicated (one user
per userName, one event per resource version), as the IdP retries on the survivor."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.scim.conftest import ROUTING, SCIM, patch, user_body
from tests.webhooks.backends import ServiceProcess
from tests.webhooks.conftest import eventually
from webhooks.inbox import Inbox
from webhooks.scim import tables, tokens

pytestmark = [pytest.mark.timeout(300)]

USERS = 60


async def test_a_replica_killed_mid_burst_loses_and_duplicates_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    common: dict[str, Any] = {
        "inbox_url": postgres_url,
        # Never reached: the forwarder is off; the inbox is where exactly-once is decided.
        "prefect_api_url": "http://127.0.0.1:9/api",
        "forwarder_enabled": False,
        "routing_config": str(ROUTING),
        "scim_sweep_seconds": 1,
    }
    replicas = [ServiceProcess(log=tmp_path / f"replica-{n}.log", **common) for n in range(2)]
    doomed, survivor = replicas
    names = [f"person{n}@acme.example" for n in range(USERS)]
    try:
        for replica in replicas:
            await asyncio.to_thread(replica.start)
        async with Inbox(postgres_url, migrate=False) as inbox:
            token = await tokens.create(inbox.engine, "okta")
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            httpx.AsyncClient(base_url=doomed.base_url, headers=headers, timeout=30) as to_doomed,
            httpx.AsyncClient(base_url=survivor.base_url, headers=headers, timeout=30) as to_other,
        ):
            done = 0

            async def send(n: int, method: str, path: str, body: Any) -> httpx.Response:
                """Like an IdP behind a load balancer: a request the doomed replica never
                answered is sent again to the survivor."""
                first = to_doomed if n % 2 else to_other
                try:
                    return await first.request(method, path, json=body)
                except httpx.TransportError:
                    return await to_other.request(method, path, json=body)

            async def provision(n: int, name: str) -> None:
                nonlocal done
                created = await send(n, "POST", f"{SCIM}/Users", user_body(name))
                if created.status_code == 409:  # the first try committed before the kill
                    found = await to_other.get(
                        f"{SCIM}/Users", params={"filter": f'userName eq "{name}"'}
                    )
                    user_id = found.json()["Resources"][0]["id"]
                else:
                    assert created.status_code == 201, created.text
                    user_id = created.json()["id"]
                done += 1
                if done == USERS // 2:
                    doomed.kill()  # mid-burst: requests in flight, changes maybe unpublished
                off = await send(
                    n,
                    "PATCH",
                    f"{SCIM}/Users/{user_id}",
                    patch({"op": "replace", "value": {"active": False}}),
                )
                assert off.status_code in (200, 204), off.text

            gate = asyncio.Semaphore(20)

            async def limited(n: int, name: str) -> None:
                async with gate:
                    await provision(n, name)

            await asyncio.gather(*(limited(n, name) for n, name in enumerate(names)))
        assert doomed.process is not None and doomed.process.returncode == -9

        async with Inbox(postgres_url, migrate=False) as inbox:
            engine = inbox.engine

            async def all_published() -> bool:
                async with engine.connect() as connection:
                    pending = (
                        await connection.execute(
                            select(func.count())
                            .select_from(tables.changes)
                            .where(tables.changes.c.enqueued.is_(None))
                        )
                    ).scalar_one()
                return pending == 0

            # The survivor's sweep publishes what the killed replica committed but never
            # handed to the inbox.
            await eventually(all_published, within=60, interval=0.5)
            async with engine.connect() as connection:
                users = list(
                    await connection.execute(
                        select(tables.resources.c.user_name_key, tables.resources.c.active).where(
                            tables.resources.c.resource_type == "User"
                        )
                    )
                )
                outbox = set(
                    (await connection.execute(select(tables.changes.c.event_id))).scalars()
                )
            events = await inbox.list(source="scim", limit=10_000)
    finally:
        for replica in replicas:
            replica.stop()

    assert sorted(u.user_name_key for u in users) == sorted(names)  # one each, none lost
    assert not any(u.active for u in users)
    assert {e.event_id for e in events} == outbox  # every committed change is an event
    assert len(events) == len(outbox) == 2 * USERS  # and only once
    kinds: dict[str, list[str]] = {}
    for event in events:
        kinds.setdefault(event.payload["email"], []).append(event.event_type)
    assert all(sorted(k) == ["user.created", "user.deactivated"] for k in kinds.values())
    assert sorted(kinds) == sorted(names)


async def test_database_down_is_503_with_retry_after_then_recovers(postgres_url: str) -> None:
    from tests.scim.conftest import running
    from tests.webhooks.backends import allow_connections, database_of

    async with running(postgres_url) as scim:
        database = database_of(postgres_url)
        await allow_connections(database, False)
        try:
            down = await scim.http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))
        finally:
            await allow_connections(database, True)
        assert down.status_code == 503, down.text
        assert down.headers["retry-after"] == "30"
        assert down.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        # The IdP's retry, once the database is back, creates the user once.
        again = await scim.http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))
        assert again.status_code == 201, again.text
        assert [e.event_type for e in await scim.events()] == ["user.created"]
