"""Creations committed together (one transaction for those waiting meanwhile): a duplicate
userName or a Group naming an unknown User in the batch fails alone, and every other
creation of the batch is committed, answered 201, and becomes exactly one inbox event."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

from tests.scim.conftest import GROUP_SCHEMA, SCIM, running, user_body
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
