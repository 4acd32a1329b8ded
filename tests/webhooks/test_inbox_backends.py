"""The inbox on SQLite and PostgreSQL alike: dedupe under group commit, claims that never
overlap, leases a live forwarder takes over from a dead one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prefect.client.orchestration import PrefectClient

from tests.fixtures.webhooks import ROUTING_EXAMPLE
from tests.webhooks.conftest import eventually, runs_for, uid
from webhooks.forwarder import Forwarder
from webhooks.inbox import Inbox
from webhooks.inbox_records import EventStatus, NewEvent
from webhooks.routing import Router


def _offboard_event(event_id: str) -> NewEvent:
    return NewEvent(
        source="generic",
        event_id=event_id,
        event_type="runbook.offboard-user",
        payload={
            "type": "runbook.offboard-user",
            "data": {"spec": {"email": f"{event_id}@acme.example", "reason": "test"}},
        },
    )


async def test_concurrent_adds_share_commits_and_store_each_event_once(inbox_url: str) -> None:
    """150 concurrent adds of 100 distinct events: 100 rows, 100 'created', 50 duplicates."""
    ids = [uid("e") for _ in range(100)]
    plan = ids + ids[:50]
    async with Inbox(inbox_url) as inbox:
        results = await asyncio.gather(*(inbox.add(_offboard_event(i)) for i in plan))
        assert sum(created for _, created in results) == 100
        by_event: dict[str, set[int]] = {}
        for event, _ in results:
            by_event.setdefault(event.event_id, set()).add(event.id)
        assert all(len(rows) == 1 for rows in by_event.values())  # a duplicate finds the row
        counts = await inbox.counts()
    assert counts[EventStatus.PENDING] == 100
    async with Inbox(inbox_url) as reopened:  # committed: another connection sees them
        assert len(await reopened.list(limit=1000)) == 100


async def test_add_returns_only_once_the_row_is_committed(
    inbox_url: str,
) -> None:
    async with Inbox(inbox_url) as inbox:
        event, created = await inbox.add(_offboard_event(uid("e")))
        async with Inbox(inbox_url) as other:
            assert (await other.get(event.id)) is not None
        assert created


async def test_two_forwarders_claim_disjoint_events(inbox_url: str) -> None:
    """Two inbox connections (two replicas) claiming at once never get the same event."""
    async with Inbox(inbox_url) as first, Inbox(inbox_url) as second:
        await asyncio.gather(*(first.add(_offboard_event(uid("e"))) for _ in range(60)))
        rounds = await asyncio.gather(
            # Each call is one forward pass of a forwarder of its own.
            *((first if n % 2 else second).claim(f"pass-{n}", limit=7) for n in range(12))
        )
        claimed = [event.id for batch in rounds for event in batch]
        assert len(claimed) == len(set(claimed)) == 60
        assert await first.claim("another") == []  # everything is leased
        # The holder itself may take its own events again (a replay claims for its forwarder).
        assert [e.id for e in await second.claim("pass-0", limit=100)] == [e.id for e in rounds[0]]
        stats = await first.stats()
    assert stats.pending == 60 and stats.claimed == 60


async def test_lease_of_a_dead_forwarder_is_taken_over_after_it_expires(inbox_url: str) -> None:
    async with Inbox(inbox_url) as inbox:
        stored = [(await inbox.add(_offboard_event(uid("e"))))[0] for _ in range(5)]
        held = await inbox.claim("dead-replica", lease_seconds=30)
        assert {e.id for e in held} == {e.id for e in stored}
        assert all(e.claimed_by == "dead-replica" for e in held)

        assert await inbox.claim("live-replica") == []  # lease still running
        due = await inbox.next_due_at()
        assert due is not None and due >= datetime.now(UTC) + timedelta(seconds=25)

        later = datetime.now(UTC) + timedelta(seconds=31)
        taken = await inbox.claim("live-replica", now=later)
        assert {e.id for e in taken} == {e.id for e in stored}
        assert all(e.claimed_by == "live-replica" for e in taken)

        await inbox.mark_forwarded(taken[0].id, "run-1")
        done = await inbox.get(taken[0].id)
    assert done is not None and done.claimed_by is None and done.lease_until is None


@pytest.mark.slow
async def test_forwarder_takes_over_events_a_dead_replica_held(
    inbox_url: str,
    prefect_client: PrefectClient,
    prefect_harness: str,
    runbook_deployments: dict[str, Any],
) -> None:
    """A replica claimed events and died; a live forwarder creates each run once the lease
    ends, and not before."""
    router = Router.from_file(ROUTING_EXAMPLE)
    msg_ids = [uid("msg_") for _ in range(6)]
    async with Inbox(inbox_url) as inbox:
        for msg_id in msg_ids:
            await inbox.add(_offboard_event(msg_id))
        held = await inbox.claim("dead-replica", lease_seconds=2.0)
        assert len(held) == 6

        forwarder = Forwarder(
            inbox, router, prefect_client, poll_seconds=0.2, lease_seconds=30, name="live"
        )
        first = await forwarder.forward_once()
        assert first.total == 0  # the dead replica's lease still holds them
        task = asyncio.create_task(forwarder.run())
        try:

            async def all_forwarded() -> bool:
                events = [await inbox.find("generic", m) for m in msg_ids]
                return all(e is not None and e.status is EventStatus.FORWARDED for e in events)

            await eventually(all_forwarded, within=60)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        events = [await inbox.find("generic", m) for m in msg_ids]
    runs = await runs_for(prefect_client, set(msg_ids))
    assert sorted(r.parameters["trigger"]["event_id"] for r in runs) == sorted(msg_ids)
    assert {e.flow_run_id for e in events if e} == {str(r.id) for r in runs}
