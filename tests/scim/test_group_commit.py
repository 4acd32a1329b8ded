"""Creations committed together (one transaction for those waiting meanwhile): a duplicate
userName, a Group naming an unknown User, a value the database refuses or a failure of one
creation's own fails alone, and every other creation of the batch is committed, answered
201, and becomes exactly one inbox event; none is answered before its commit."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.exc import StatementError

from tests.scim.conftest import GROUP_SCHEMA, SCIM, running, user_body
from webhooks.scim.publisher import Publisher
from webhooks.scim.store import ScimStore


async def _until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until ``condition`` holds (a bound, not a timing: the requests
    wait on the database's threads meanwhile)."""
    for _ in range(6000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


async def test_a_bad_creation_in_a_batch_fails_alone(inbox_url: str) -> None:
    async with running(inbox_url) as scim:
        store: ScimStore = scim.app.state.scim.store
        known = await scim.http.post(f"{SCIM}/Users", json=user_body("known@acme.example"))
        assert known.status_code == 201

        def group(name: str, member: str) -> dict[str, Any]:
            return {"schemas": [GROUP_SCHEMA], "displayName": name, "members": [{"value": member}]}

        requests = [
            *(("Users", user_body(f"p{n}@acme.example")) for n in range(20)),
            *(("Users", user_body("dup@acme.example")) for _ in range(3)),
            ("Groups", group("ghosts", "no-such-user")),
            ("Groups", group("team", known.json()["id"])),
        ]
        # On SQLite, hold the store's write lock while the committer has taken a first
        # creation and every other one queues behind it: they then share one transaction.
        # (PostgreSQL has no such lock: it commits whatever queued meanwhile; same answers.)
        held = store._write_lock or asyncio.Lock()
        async with held:
            first = asyncio.create_task(
                scim.http.post(f"{SCIM}/Users", json=user_body("first@acme.example"))
            )
            if store._write_lock is not None:
                # A committer is running (the one of ``known`` is done) and has taken it.
                await _until(
                    lambda: (
                        store._creator is not None
                        and not store._creator.done()
                        and not store._creations
                    )
                )
            sent = [
                asyncio.create_task(scim.http.post(f"{SCIM}/{path}", json=body))
                for path, body in requests
            ]
            if store._write_lock is not None:
                await _until(lambda: len(store._creations) == len(requests))
        assert (await first).status_code == 201
        answers = [await task for task in sent]

        answered = zip(requests, answers, strict=True)
        statuses = Counter((path, answer.status_code) for (path, _), answer in answered)
        assert statuses == {("Users", 201): 21, ("Users", 409): 2, ("Groups", 400): 1,
                            ("Groups", 201): 1}  # fmt: skip
        assert "members" in answers[23].json()["detail"]
        counts = await scim.counts()
        assert counts["scim_resources"] == 2 + 21 + 1
        events = await scim.events()
        kinds = Counter(e.event_type for e in events)
        assert kinds == {"user.created": 23, "group.changed": 1}
        assert counts["scim_changes"] == len(events) == len({e.event_id for e in events})
        created = {a.json()["id"] for a in answers if a.status_code == 201}
        assert created <= {e.payload["id"] for e in events}


async def test_a_creation_whose_event_cannot_be_stored_fails_alone(
    inbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A creation the database refuses for a value (injected at its inbox event: the same
    refusal whichever statement of the transaction meets it) and one that fails for another
    reason are sent with eighteen good ones, so as to share their transactions: each bad
    one gets its own error (400, 500), every good one is committed and answered 201, with
    exactly one event each."""
    within = Publisher.within

    async def picky(self: Publisher, connection: Any, changes: Any) -> Any:
        names = {c.payload.get("userName") for c in changes}
        if "poison@acme.example" in names:
            raise StatementError("cannot bind", None, {}, ValueError("NUL"))
        if "broken@acme.example" in names:
            raise RuntimeError("a bug in routing")
        return await within(self, connection, changes)

    monkeypatch.setattr(Publisher, "within", picky)
    async with running(inbox_url) as scim:
        store: ScimStore = scim.app.state.scim.store
        names = [f"p{n}@acme.example" for n in range(20)]
        names[7], names[13] = "poison@acme.example", "broken@acme.example"
        entered = [0]
        create = store.create

        async def counted(*args: Any, **kwargs: Any) -> Any:
            entered[0] += 1  # queued for the committer from here on, without an await
            return await create(*args, **kwargs)

        store.create = counted  # type: ignore[method-assign]
        held = store._write_lock or asyncio.Lock()
        async with held:  # on SQLite they all queue behind the lock and share transactions
            sent = [
                asyncio.create_task(scim.http.post(f"{SCIM}/Users", json=user_body(name)))
                for name in names
            ]
            if store._write_lock is not None:
                await _until(lambda: entered[0] == len(names))
        answers = {name: await task for name, task in zip(names, sent, strict=True)}
        assert answers.pop("poison@acme.example").status_code == 400
        assert answers.pop("broken@acme.example").status_code == 500
        assert {a.status_code for a in answers.values()} == {201}
        events = await scim.events()
        assert sorted(e.payload["userName"] for e in events) == sorted(answers)
        counts = await scim.counts()
        assert counts == {"scim_resources": 18, "scim_changes": 18, "events": 18}


async def test_a_creation_is_answered_only_once_committed(
    inbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    within = Publisher.within
    entered, release = asyncio.Event(), asyncio.Event()

    async def held(self: Publisher, connection: Any, changes: Any) -> Any:
        stored = await within(self, connection, changes)
        entered.set()
        await release.wait()  # the transaction is open, not committed
        return stored

    monkeypatch.setattr(Publisher, "within", held)
    async with running(inbox_url) as scim:
        answer = asyncio.create_task(
            scim.http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))
        )
        await entered.wait()
        # Written but not committed: no answer yet, and nothing visible to another reader.
        assert not answer.done()
        assert await scim.counts() == {"scim_resources": 0, "scim_changes": 0, "events": 0}
        release.set()
        assert (await answer).status_code == 201
        assert await scim.counts() == {"scim_resources": 1, "scim_changes": 1, "events": 1}
