"""Puts SCIM changes in the inbox, where the routing file maps each to a runbook and the
forwarder starts it: inside the change's own transaction (:meth:`Publisher.within`, what the
store does for every write), or later from the outbox (``scim_changes``) for a change
recorded without its event (:meth:`Publisher.sweep`).

The inbox dedupes on (source, event id) and the event id is the resource version
(``User:<id>:v<n>``): publishing twice, from a write and from a sweep of another replica,
stores one event and so starts one run."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from webhooks.forwarder import Forwarder
from webhooks.inbox import Inbox
from webhooks.inbox_records import InboxEvent, NewEvent
from webhooks.metrics import Metrics
from webhooks.receiver import EventDraft, accept, new_event
from webhooks.refusals import reason_of
from webhooks.routing import Router
from webhooks.scim import tables
from webhooks.scim.store import Change

logger = logging.getLogger("webhooks.scim")

#: The ``source`` of SCIM events in the inbox and the routing file.
SOURCE = "scim"


class Publisher:
    """Publishes changes to the inbox now, and sweeps up what a dead process left behind."""

    def __init__(
        self,
        engine: AsyncEngine,
        inbox: Inbox,
        router: Router,
        forwarder: Forwarder | None,
        metrics: Metrics | None = None,
        *,
        grace_seconds: float = 10.0,
    ) -> None:
        self._engine = engine
        self._inbox = inbox
        self._router = router
        self._forwarder = forwarder
        self._metrics = metrics
        self.grace = timedelta(seconds=grace_seconds)

    def events(self, changes: Sequence[Change]) -> list[NewEvent]:
        """The inbox events of ``changes``, routed as a delivery's would be."""
        return [
            new_event(
                SOURCE,
                EventDraft(event_id=c.event_id, event_type=c.event_type, payload=c.payload),
                {},
                self._router,
            )
            for c in changes
        ]

    async def within(
        self, connection: AsyncConnection, changes: Sequence[Change]
    ) -> list[tuple[InboxEvent, bool]]:
        """Store the inbox events of ``changes`` in the transaction of ``connection``: the
        store's own, so they commit (or not) with the changes. Why: a separate inbox commit
        per write, its enqueued mark and the delivery bookkeeping around it were a fifth of
        a SCIM creation's CPU, and a crash between the two commits needed the sweep."""
        # In event id order, as the inbox's own group commit inserts: the same order on every
        # replica (no two transactions wait on each other's keys the other way round), and
        # the order the inbox had these events in when they were added after the commit.
        events = sorted(self.events(changes), key=lambda event: event.event_id)
        return await self._inbox.add_within(connection, events)

    def announce(self, stored: Sequence[tuple[InboxEvent, bool]]) -> None:
        """Count events stored by :meth:`within` (committed now) as a delivery's are counted,
        and wake the forwarder for the new ones."""
        created_any = False
        for event, created in stored:
            created_any = created_any or created
            if self._metrics is not None:
                self._metrics.stored(SOURCE, event.status.value if created else "duplicate")
        if created_any and self._forwarder is not None:
            self._forwarder.wake()

    async def publish(self, changes: Sequence[Change]) -> None:
        """Store ``changes`` in the inbox (deduplicated), then mark them enqueued: the
        sweep's way, for changes recorded without their event."""
        if not changes:
            return
        drafts = [
            EventDraft(event_id=c.event_id, event_type=c.event_type, payload=c.payload)
            for c in changes
        ]
        await accept(
            source=SOURCE,
            drafts=drafts,
            headers={},
            inbox=self._inbox,
            router=self._router,
            forwarder=self._forwarder,
            metrics=self._metrics,
        )
        await self.mark([c.event_id for c in changes])

    async def mark(self, event_ids: Sequence[str]) -> None:
        """Record that these changes are in the inbox, so no sweep publishes them again (one
        that does anyway, after a lost mark, stores nothing: the inbox dedupes)."""
        if not event_ids:
            return
        async with self._engine.begin() as connection:
            await connection.execute(
                update(tables.changes)
                .where(tables.changes.c.event_id.in_(list(event_ids)))
                .values(enqueued=datetime.now(UTC))
            )

    async def sweep(self, *, older_than: timedelta | None = None, limit: int = 500) -> int:
        """Publish the changes committed more than ``older_than`` ago (default: the grace)
        that are not in the inbox yet: their request's process died between the two
        commits. Returns how many were published."""
        cutoff = datetime.now(UTC) - (self.grace if older_than is None else older_than)
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(tables.changes)
                    .where(tables.changes.c.enqueued.is_(None), tables.changes.c.created <= cutoff)
                    .order_by(tables.changes.c.id)
                    .limit(limit)
                )
            ).all()
        changes = [Change(row.event_id, row.event_type, row.payload) for row in rows]
        await self.publish(changes)
        return len(changes)

    async def run(self, every: float) -> None:
        """Sweep forever, every ``every`` seconds."""
        while True:
            try:
                swept = await self.sweep()
                if swept:
                    logger.info("published %d SCIM change(s) left by another process", swept)
            except Exception as exc:  # the next sweep retries; the changes stay in the outbox
                logger.warning("SCIM outbox sweep failed: %s", reason_of(exc))
            await asyncio.sleep(every)
