"""Reads share connections: the lookups waiting at once are served one after another by at
most ``max_readers`` connections, each read still seeing every write committed before it was
asked for, and the ``eq`` lookups of one attribute waiting together are one query; a read the
database refuses fails alone; no connection fails every waiting read (503), none hangs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from tests.scim.conftest import GROUP_SCHEMA, SCIM, Scim, running, user_body
from webhooks.scim import store as store_module
from webhooks.scim import tables
from webhooks.scim.store import ScimStore, _Lookup


async def test_fifty_lookups_share_the_readers(inbox_url: str) -> None:
    async with running(inbox_url) as scim:
        store: ScimStore = scim.app.state.scim.store
        created = await scim.http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))
        assert created.status_code == 201
        running_now, most, checkouts = [0], [0], [0]
        serve = store._read_queued

        async def counted() -> None:
            running_now[0] += 1
            most[0] = max(most[0], running_now[0])
            try:
                await serve()
            finally:
                running_now[0] -= 1

        store._read_queued = counted  # type: ignore[method-assign]
        event.listen(
            scim.inbox.engine.sync_engine.pool,
            "checkout",
            lambda *_: checkouts.__setitem__(0, checkouts[0] + 1),
        )
        lookups = await asyncio.gather(
            *(
                scim.http.get(
                    f"{SCIM}/Users",
                    params={"filter": f'userName eq "{"ada" if n % 2 else "bob"}@acme.example"'},
                )
                for n in range(50)
            )
        )
        assert [answer.json()["totalResults"] for answer in lookups] == [0, 1] * 25
        assert 1 <= most[0] <= store.max_readers
        assert checkouts[0] < 25  # a checkout each would be 50


async def _statements_from_now(scim: Scim, store: ScimStore) -> list[str]:
    """The SQL the database is sent from now on, once the setup's readers have ended."""
    if store._readers:
        await asyncio.wait(store._readers)
    statements: list[str] = []
    event.listen(
        scim.inbox.engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_: statements.append(statement),
    )
    return statements


async def test_lookups_waiting_together_are_one_query_and_each_gets_its_own_rows(
    inbox_url: str,
) -> None:
    async with running(inbox_url) as scim:
        store: ScimStore = scim.app.state.scim.store
        for name in ("ada@acme.example", "bob@acme.example"):
            created = await scim.http.post(f"{SCIM}/Users", json=user_body(name))
            assert created.status_code == 201, created.text
        # A group whose name is a user's: same column value, other resource type.
        group = {"schemas": [GROUP_SCHEMA], "displayName": "ada@acme.example", "members": []}
        assert (await scim.http.post(f"{SCIM}/Groups", json=group)).status_code == 201
        statements = await _statements_from_now(scim, store)

        def user(name: str) -> _Lookup:
            return _Lookup("user_name_key", "User", name)

        count = select(func.count()).select_from(tables.resources)
        # All queued before a reader runs (each task enqueues at its first step), the
        # listing and the group lookup between the user lookups, one value asked twice.
        results = await asyncio.gather(
            store._fetch(user("ada@acme.example")),
            store._fetch(user("bob@acme.example")),
            store._fetch(count),
            store._fetch(_Lookup("display_name_key", "Group", "ada@acme.example")),
            store._fetch(user("ada@acme.example")),
            store._fetch(user("nobody@acme.example")),
        )
        users = [[(r.resource_type, r.user_name_key) for r in results[i]] for i in (0, 1, 4, 5)]
        assert users == [
            [("User", "ada@acme.example")],
            [("User", "bob@acme.example")],
            [("User", "ada@acme.example")],
            [],
        ]
        assert results[2][0][0] == 3
        assert [(r.resource_type, r.display_name_key) for r in results[3]] == [
            ("Group", "ada@acme.example")
        ]
        resources = [s for s in statements if "scim_resources" in s]
        # One for the four user lookups, one for the group's, one for the count.
        assert len(resources) == 3, resources
        assert sum("user_name_key IN" in s for s in resources) == 1, resources


async def test_a_query_answers_at_most_its_share_of_the_waiting_lookups(
    inbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(inbox_url) as scim:
        store: ScimStore = scim.app.state.scim.store
        created = await scim.http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))
        assert created.status_code == 201, created.text
        monkeypatch.setattr(store_module, "_MOST_LOOKUPS_A_QUERY", 2)
        statements = await _statements_from_now(scim, store)
        names = ["ada@acme.example", "bob@acme.example"] * 3
        results = await asyncio.gather(
            *(store._fetch(_Lookup("user_name_key", "User", name)) for name in names)
        )
        assert [len(rows) for rows in results] == [1, 0] * 3
        assert sum("user_name_key IN" in s for s in statements) == 3, statements


async def test_a_refused_read_fails_alone(inbox_url: str) -> None:
    async with running(inbox_url) as scim:
        store: ScimStore = scim.app.state.scim.store
        count = select(func.count()).select_from(tables.resources)
        # All queued before a reader runs (each task enqueues at its first step): the bad
        # one is served between good ones on the same connection.
        results = await asyncio.gather(
            *(store._fetch(count) for _ in range(5)),
            store._fetch(text("SELECT * FROM no_such_table")),
            *(store._fetch(count) for _ in range(5)),
            return_exceptions=True,
        )
        assert isinstance(results[5], Exception)
        assert [rows[0][0] for rows in results[:5] + results[6:]] == [0] * 10  # type: ignore[index]


async def test_no_connection_fails_every_waiting_read(
    inbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(inbox_url) as scim:
        store: ScimStore = scim.app.state.scim.store
        # The token is checked (and cached) first: only the lookups' own reads meet the
        # unreachable database below.
        assert (await scim.http.get(f"{SCIM}/Users")).status_code == 200

        class Unreachable:
            def connect(self) -> Any:
                raise ConnectionRefusedError("the database is away")

        # That listing's two reads (count, then page) may have been served by two readers,
        # one of them still opening or returning a real connection: one that got its
        # connection after the engine is swapped would serve the lookups below. The
        # database goes away once every reader has ended.
        if store._readers:
            await asyncio.wait(store._readers)
        monkeypatch.setattr(store, "_engine", Unreachable())
        answers = await asyncio.gather(
            *(
                scim.http.get(f"{SCIM}/Users", params={"filter": 'userName eq "ada@acme.example"'})
                for _ in range(10)
            )
        )
        assert {answer.status_code for answer in answers} == {503}
        monkeypatch.undo()
        again = await scim.http.get(f"{SCIM}/Users")
        assert again.status_code == 200


async def test_a_read_queued_while_the_reader_returns_its_connection_is_served(
    inbox_url: str,
) -> None:
    """The interleaving that hung an import's group push on PostgreSQL: the only reader has
    served the queue and is returning its connection (a rollback: it awaits) when a read is
    queued. That read finds the reader still running, so starts none: the reader, once its
    connection is back, must serve it."""
    async with running(inbox_url) as scim:
        store: ScimStore = scim.app.state.scim.store
        store.max_readers = 1
        engine = store._engine
        returning, go_on = asyncio.Event(), asyncio.Event()

        class SlowReturn:
            def connect(self) -> Any:
                opened = engine.connect()

                class Context:
                    async def __aenter__(self) -> Any:
                        return await opened.__aenter__()

                    async def __aexit__(self, *exc: Any) -> Any:
                        returning.set()
                        await go_on.wait()
                        return await opened.__aexit__(*exc)

                return Context()

        store._engine = SlowReturn()  # type: ignore[assignment]
        count = select(func.count()).select_from(tables.resources)
        first = asyncio.create_task(store._fetch(count))
        await returning.wait()  # first served; its reader is returning the connection
        assert (await first)[0][0] == 0
        second = asyncio.create_task(store._fetch(count))
        await asyncio.sleep(0)  # queued: the reader is alive, so no new one started
        assert len(store._readers) == 1 and not second.done()
        returning.clear()
        go_on.set()
        assert (await asyncio.wait_for(second, 30))[0][0] == 0
