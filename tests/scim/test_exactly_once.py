"""Every committed SCIM change becomes exactly one inbox event, whatever happens between the
store's commit and the inbox's: the process dying there (injected), two replicas publishing
the same change, concurrent PATCHes of one resource."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.scim.conftest import GROUP_SCHEMA, SCIM, Scim, patch, running, user_body
from webhooks.scim import tables
from webhooks.scim.publisher import Publisher


async def _outbox(scim: Scim) -> list[Any]:
    async with scim.inbox.engine.connect() as connection:
        return list(await connection.execute(select(tables.changes).order_by(tables.changes.c.id)))


async def test_a_change_left_without_its_event_is_published_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    async with running(url) as first:
        # A change recorded without its inbox event: what a store without a publication
        # writes, and what an earlier version of the service left when it died between its
        # commit and the inbox's. The IdP is answered: the change is the system of record.
        first.app.state.scim.store.publication = None
        created = await first.http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))
        assert created.status_code == 201
        assert await first.events() == []
        [row] = await _outbox(first)
        assert row.enqueued is None
    # Another replica (or this one, restarted) sweeps the outbox: one event.
    async with running(url, token_name="idp-2") as second:
        publisher: Publisher = second.app.state.scim.publisher
        assert await publisher.sweep(older_than=timedelta(0)) == 1
        assert await publisher.sweep(older_than=timedelta(0)) == 0
        events = await second.events()
        assert [(e.event_id, e.event_type) for e in events] == [(row.event_id, "user.created")]
        [row] = await _outbox(second)
        assert row.enqueued is not None


async def test_a_change_and_its_event_commit_together(
    inbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inbox event is written in the change's transaction: a write whose event cannot be
    stored commits nothing (the IdP is told to retry), and once it can, the retry commits
    the change and exactly one event, already marked enqueued (nothing for the sweep)."""
    async with running(inbox_url) as scim:
        publisher: Publisher = scim.app.state.scim.publisher
        within = Publisher.within

        async def fails(self: Publisher, connection: Any, changes: Any) -> Any:
            await within(self, connection, changes)  # stored, then the transaction fails
            raise ConnectionError("the database went away")

        monkeypatch.setattr(Publisher, "within", fails)
        down = await scim.http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))
        assert down.status_code == 503, down.text
        assert await scim.counts() == {"scim_resources": 0, "scim_changes": 0, "events": 0}
        monkeypatch.undo()
        again = await scim.http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))
        assert again.status_code == 201, again.text
        [row] = await _outbox(scim)
        assert row.enqueued is not None
        assert [e.event_id for e in await scim.events()] == [row.event_id]
        assert await publisher.sweep(older_than=timedelta(0)) == 0


async def test_two_replicas_publishing_the_same_change_store_one_event(scim: Scim) -> None:
    created = await scim.http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))
    assert created.status_code == 201
    [row] = await _outbox(scim)
    publisher: Publisher = scim.app.state.scim.publisher
    async with scim.inbox.engine.begin() as connection:  # as if its enqueue mark was lost
        await connection.execute(tables.changes.update().values(enqueued=None))
    await asyncio.gather(*(publisher.sweep(older_than=timedelta(0)) for _ in range(3)))
    assert [e.event_id for e in await scim.events()] == [row.event_id]


async def test_concurrent_member_adds_lose_nothing(inbox_url: str) -> None:
    """Twenty people added to one group by twenty PATCHes at once (Okta's group push), sent
    to two replicas: each request reads the group, adds one member and writes it back; a write
    over a newer version would drop a member, so it is served again instead."""
    async with running(inbox_url) as scim, running(inbox_url, token_name="idp-2") as other:
        ids = []
        for n in range(20):
            created = await scim.http.post(f"{SCIM}/Users", json=user_body(f"p{n}@acme.example"))
            ids.append(created.json()["id"])
        group = await scim.http.post(
            f"{SCIM}/Groups",
            json={"schemas": [GROUP_SCHEMA], "displayName": "arize-space-editors"},
        )
        group_id = group.json()["id"]
        answers = await asyncio.gather(
            *(
                (scim if n % 2 else other).http.patch(
                    f"{SCIM}/Groups/{group_id}",
                    json=patch({"op": "add", "path": "members", "value": [{"value": i}]}),
                )
                for n, i in enumerate(ids)
            )
        )
        assert all(answer.status_code in (200, 204) for answer in answers), [
            answer.text for answer in answers
        ]
        members = (await scim.http.get(f"{SCIM}/Groups/{group_id}")).json()["members"]
        assert sorted(m["value"] for m in members) == sorted(ids)
        joins = [
            e for e in await scim.events() if e.event_type == "group.changed" and e.payload["added"]
        ]
        assert sorted(p["id"] for e in joins for p in e.payload["added"]) == sorted(ids)
        versions = [int(e.event_id.rsplit(":v", 1)[1]) for e in joins]
        assert sorted(versions) == list(range(2, 22))  # one version each, none repeated


async def test_the_request_log_links_requests_to_their_events(scim: Scim) -> None:
    created = await scim.http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))
    user_id = created.json()["id"]
    await scim.http.get(f"{SCIM}/Users", params={"filter": 'userName eq "ada@acme.example"'})
    await scim.http.patch(
        f"{SCIM}/Users/{user_id}", json=patch({"op": "replace", "value": {"active": False}})
    )
    await scim.app.state.scim.flush()  # the log is written in batches
    async with scim.inbox.engine.connect() as connection:
        rows = list(
            await connection.execute(select(tables.requests).order_by(tables.requests.c.id))
        )
    assert [(r.method, r.status, r.token) for r in rows] == [
        ("POST", 201, "idp"),
        ("GET", 200, "idp"),
        ("PATCH", 204, "idp"),
    ]
    events = await scim.events()
    assert rows[0].event_ids == [events[0].event_id]
    assert rows[1].event_ids == []
    assert rows[2].event_ids == [events[1].event_id]
    # The path only: the filter (an e-mail address) stays out of the log.
    assert "ada" not in rows[1].path
