"""The durable inbox: every verified event is stored here before the sender gets its 2xx.

One table, ``events``, keyed by ``(source, event_id)`` with a unique constraint, so a
redelivery (concurrent or days later) finds the row instead of adding one. A row moves
``pending → forwarded`` once its flow run exists, or ``pending → dead`` when it cannot be
routed or Prefect refuses it for good; ``dead_letters`` is a view over the dead rows with
their reason. SQLite (aiosqlite) by default; PostgreSQL (asyncpg, extra ``postgres``) by URL.
The table and the event models are :mod:`webhooks.inbox_records`; what a database refusal
means for an event is :mod:`webhooks.refusals`.

The schema is Alembic's (:mod:`webhooks.schema`). Several forwarders may share one inbox:
each takes due events with :meth:`Inbox.claim`, which stamps them with its name and a lease
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one writer at a time, so the claiming
UPDATE is atomic by itself). A forwarder that dies loses its claims when the lease ends.

Concurrent :meth:`Inbox.add` calls share transactions (group commit): whatever arrives while
one transaction commits goes into the next, and each caller returns only once its row is
committed. A batch the database refuses for its data (not for being away) is split and
committed in halves until the event it cannot store stands alone: that caller gets
:class:`~webhooks.refusals.EventNotStorable`, every other caller its row.

JSON that PostgreSQL cannot hold (NUL, lone surrogates) is stored losslessly through
:mod:`webhooks.pgtext`. Statement parameters never reach a log or an exception message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    and_,
    case,
    event,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from webhooks import pgtext, schema
from webhooks.inbox_records import (
    EVENTS,
    EventRow,
    EventStatus,
    InboxEvent,
    InboxStats,
    NewEvent,
    event_from_row,
    inserted_event,
)
from webhooks.refusals import EventNotStorable, reason_of, refused_for_data

# aiosqlite logs every statement it runs, parameters (headers, payloads) included, at DEBUG:
# never let it, whatever level the service logs at.
logging.getLogger("aiosqlite").setLevel(logging.INFO)


# The columns each outcome of a forward sets, for one event or every event of a batch alike.
def _forwarded_to(flow_run_id: str) -> dict[str, Any]:
    """The flow run exists."""
    return {
        "status": EventStatus.FORWARDED.value,
        "flow_run_id": flow_run_id,
        "attempts": EventRow.attempts + 1,
        "last_error": None,
        "next_attempt_at": None,
        "claimed_by": None,
        "lease_until": None,
    }


def _retry_at(error: str, next_attempt_at: datetime) -> dict[str, Any]:
    """A transient failure: pending again from ``next_attempt_at``."""
    return {
        "attempts": EventRow.attempts + 1,
        "last_error": pgtext.safe_message(error),
        "next_attempt_at": next_attempt_at,
        "claimed_by": None,
        "lease_until": None,
    }


def _dead(reason: str, *, attempted: bool = True) -> dict[str, Any]:
    """In the dead letters, with the reason."""
    return {
        "status": EventStatus.DEAD.value,
        "attempts": EventRow.attempts + (1 if attempted else 0),
        "last_error": pgtext.safe_message(reason),
        "next_attempt_at": None,
        "claimed_by": None,
        "lease_until": None,
    }


def _now() -> datetime:
    return datetime.now(UTC)


class Inbox:
    """Async access to the events table.

    Use as an async context manager (``async with Inbox(url) as inbox``).

    Args:
        url: SQLAlchemy async URL, e.g. ``sqlite+aiosqlite:///inbox.db`` or
            ``postgresql+asyncpg://user:pw@host/db``.
        migrate: Bring the schema to the newest revision on open (safe with many replicas);
            ``False`` only checks it and refuses an out-of-date database.
        group_commit: Share one transaction among concurrent :meth:`add` calls.
        max_batch: Most rows per shared transaction.
        pool_size: Connections kept open to PostgreSQL.
    """

    def __init__(
        self,
        url: str,
        *,
        migrate: bool = True,
        group_commit: bool = True,
        max_batch: int = 256,
        pool_size: int = 10,
    ) -> None:
        self.url = url
        self.migrate = migrate
        self.group_commit = group_commit
        self.max_batch = max_batch
        self.pool_size = pool_size
        self._engine: AsyncEngine | None = None
        self._add_engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._dialect = make_url(url).get_backend_name()
        # SQLite has one writer at a time; queueing writers here is faster than letting
        # them spin on SQLITE_BUSY.
        self._write_lock = asyncio.Lock() if self._dialect == "sqlite" else None
        self._queue: list[tuple[NewEvent, asyncio.Future[tuple[InboxEvent, bool]]]] = []
        self._committer: asyncio.Task[None] | None = None
        # Built once: SQLAlchemy compiles it once and caches it for every batch after.
        dialect_insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        self._insert_statement = (
            dialect_insert(EVENTS)
            # No conflict target: a row is a duplicate by its event id or by its content key.
            .on_conflict_do_nothing()
            # The rest of a new row is what was sent: reading back its JSON and dates
            # would only decode what this process just encoded.
            .returning(EVENTS.c.id, EVENTS.c.source, EVENTS.c.event_id)
        )

    def __repr__(self) -> str:
        return f"Inbox({make_url(self.url).render_as_string(hide_password=True)!r})"

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._dialect

    @property
    def engine(self) -> AsyncEngine:
        """The open engine."""
        if self._engine is None:
            raise RuntimeError("the inbox is not open")
        return self._engine

    async def __aenter__(self) -> Inbox:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Create the engine and migrate (or check) the schema."""
        url = make_url(self.url)
        # Statement parameters hold headers and payloads: never in an exception's text.
        kwargs: dict[str, Any] = {"hide_parameters": True}
        if self._dialect == "sqlite":
            database = url.database or ""
            if database in ("", ":memory:"):
                kwargs["poolclass"] = StaticPool
            else:
                await asyncio.to_thread(_make_parent, database)
            # No statement cache: a cached sqlite3 statement keeps its last bound values
            # until it is run again, and every batch size is a multi-row INSERT of its own:
            # up to 128 of them, each holding its batch's payloads (RSS grew without bound
            # under large deliveries). Preparing a statement again costs microseconds.
            kwargs["connect_args"] = {"timeout": 30, "cached_statements": 0}
        else:
            kwargs.update(
                json_serializer=pgtext.dumps_for_postgres,
                json_deserializer=pgtext.loads_from_postgres,
            )
            # A connection PostgreSQL dropped (restart, pg_terminate_backend) is found and
            # replaced on checkout, so one failed request is all an outage costs.
            kwargs.update(pool_pre_ping=True, pool_size=self.pool_size, max_overflow=20)
        engine = create_async_engine(url, **kwargs)
        if self._dialect == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        try:
            if self.migrate:
                await schema.upgrade(engine)
            else:
                await schema.require_head(engine)
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._add_engine = engine
        if self._dialect == "postgresql":
            # :meth:`add`'s own pool, without the pre-ping: on asyncpg that is three round
            # trips per checkout, as many as the batch's BEGIN, INSERT and COMMIT. A batch
            # that finds its connection dead before COMMIT is retried once instead
            # (:meth:`_commit_batch`).
            self._add_engine = create_async_engine(
                url,
                pool_size=2,
                max_overflow=self.pool_size + 18,
                hide_parameters=True,
                json_serializer=pgtext.dumps_for_postgres,
                json_deserializer=pgtext.loads_from_postgres,
            )

    async def close(self) -> None:
        """Commit what is queued, then dispose of the engine."""
        if self._committer is not None:
            with contextlib.suppress(Exception):
                await self._committer
            self._committer = None
        if self._add_engine is not None and self._add_engine is not self._engine:
            await self._add_engine.dispose()
        self._add_engine = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
            self._sessions = None

    async def ping(self) -> None:
        """One round trip to the database (raises when it is unreachable)."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        if self._sessions is None:
            raise RuntimeError("the inbox is not open")
        async with contextlib.AsyncExitStack() as stack:
            if self._write_lock is not None:
                await stack.enter_async_context(self._write_lock)
            async with self._sessions() as session, session.begin():
                yield session

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        if self._sessions is None:
            raise RuntimeError("the inbox is not open")
        async with self._sessions() as session:
            yield session

    @contextlib.asynccontextmanager
    async def _write_connection(self) -> AsyncIterator[AsyncConnection]:
        # Core, not a session: the ack path has no use for the ORM's unit of work.
        if self._add_engine is None:
            raise RuntimeError("the inbox is not open")
        async with contextlib.AsyncExitStack() as stack:
            if self._write_lock is not None:
                await stack.enter_async_context(self._write_lock)
            yield await stack.enter_async_context(self._add_engine.begin())

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction for another table of the service (the evidence chain), so
        its rows and the outbox rows they queue with :meth:`add_within` commit together."""
        async with self._write_connection() as connection:
            yield connection

    async def add_within(
        self, connection: AsyncConnection, events: Sequence[NewEvent]
    ) -> list[tuple[InboxEvent, bool]]:
        """:meth:`add` inside :meth:`transaction`: committed (or not) with the caller's rows."""
        return await self._insert_batch(connection, events)

    async def _commit_batch(self, batch: Sequence[NewEvent]) -> list[tuple[InboxEvent, bool]]:
        """Insert and commit ``batch``; once more on a fresh connection if the first one was
        found dead before COMMIT was sent (so nothing of the batch can have been committed).
        A connection lost during COMMIT fails the batch: its outcome is unknown."""
        committing = False
        try:
            async with self._write_connection() as connection:
                results = await self._insert_batch(connection, batch)
                committing = True
            return results
        except DBAPIError as exc:
            if committing or not exc.connection_invalidated:
                raise
        async with self._write_connection() as connection:
            return await self._insert_batch(connection, batch)

    async def add(self, new: NewEvent) -> tuple[InboxEvent, bool]:
        """Store an event unless ``(source, event_id)`` is already there; return once the row
        is committed.

        Returns:
            The stored row, and whether this call created it (False for a duplicate).

        Raises:
            EventNotStorable: the database refused this event for its content.
        """
        if not self.group_commit:
            try:
                return (await self._commit_batch([new]))[0]
            except Exception as exc:
                if refused_for_data(exc):
                    raise _not_storable(new, exc) from None
                raise
        future: asyncio.Future[tuple[InboxEvent, bool]] = asyncio.get_running_loop().create_future()
        self._queue.append((new, future))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_queued(), name="inbox-commit")
        # Shielded: a sender hanging up must not cancel the commit other callers wait on.
        return await asyncio.shield(future)

    async def _commit_queued(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            # Every replica inserts in the same key order: two batches holding the same
            # redelivered events then wait on each other in line instead of deadlocking.
            batch.sort(key=lambda item: (item[0].source, item[0].event_id))
            await self._commit_isolating(batch)

    async def _commit_isolating(
        self, batch: list[tuple[NewEvent, asyncio.Future[tuple[InboxEvent, bool]]]]
    ) -> None:
        """Commit ``batch`` and settle its callers' futures. When the database refuses it for
        its data, each half is committed on its own, down to the event it cannot store: one
        poisoned delivery costs ``log2(batch)`` more transactions, never the others' rows."""
        try:
            results = await self._commit_batch([new for new, _ in batch])
        except BaseException as exc:
            if isinstance(exc, Exception) and refused_for_data(exc):
                if len(batch) > 1:
                    middle = len(batch) // 2
                    await self._commit_isolating(batch[:middle])
                    await self._commit_isolating(batch[middle:])
                    return
                error: Exception = _not_storable(batch[0][0], exc)
            else:
                # The database is away: nothing of this batch is committed and every caller
                # in it fails (503, the sender retries). The next batch gets a fresh
                # connection.
                error = exc if isinstance(exc, Exception) else OSError("inbox commit cancelled")
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _insert_batch(
        self, connection: AsyncConnection, batch: Sequence[NewEvent]
    ) -> list[tuple[InboxEvent, bool]]:
        """Insert a batch in one statement (``INSERT ... ON CONFLICT DO NOTHING RETURNING``,
        executemany: SQLAlchemy sends it as multi-row VALUES), then read the rows of the
        duplicates in a second one. Results are in ``batch`` order; of two entries with the
        same event id, or the same content key, in one batch, the first creates the row and
        the second is its duplicate."""
        now = _now()
        values: dict[tuple[str, str], dict[str, Any]] = {}
        content_owner: dict[tuple[str, str], tuple[str, str]] = {}
        for new in batch:
            key = (new.source, new.event_id)
            content = None if new.content_key is None else (new.source, new.content_key)
            if key in values or (content is not None and content in content_owner):
                continue
            if content is not None:
                content_owner[content] = key
            values[key] = {
                "source": new.source,
                "event_id": new.event_id,
                "delivery_id": new.delivery_id,
                "event_type": new.event_type,
                "received_at": now,
                "headers": new.headers,
                "payload": new.payload,
                "deployment": new.deployment,
                "parameters": new.parameters,
                "status": new.status.value,
                "attempts": 0,
                "last_error": None if new.reason is None else pgtext.safe_message(new.reason),
                "updated_at": now,
                "content_key": new.content_key,
            }
        result = await connection.execute(self._insert_statement, list(values.values()))
        inserted = {
            (source, event_id): inserted_event(id, values[source, event_id])
            for id, source, event_id in result
        }
        missing = [key for key in values if key not in inserted]
        missing_content = [
            (source, values[source, event_id]["content_key"])
            for source, event_id in missing
            if values[source, event_id]["content_key"] is not None
        ]
        by_key: dict[tuple[str, str], InboxEvent] = dict(inserted)
        by_content: dict[tuple[str, str], InboxEvent] = {
            (event.source, event.content_key): event
            for event in inserted.values()
            if event.content_key is not None
        }
        if missing:
            found_where = tuple_(EVENTS.c.source, EVENTS.c.event_id).in_(missing)
            if missing_content:
                found_where = or_(
                    found_where,
                    tuple_(EVENTS.c.source, EVENTS.c.content_key).in_(missing_content),
                )
            for row in await connection.execute(select(EVENTS).where(found_where)):
                event = event_from_row(row)
                by_key[event.source, event.event_id] = event
                if event.content_key is not None:
                    by_content[event.source, event.content_key] = event
        results: list[tuple[InboxEvent, bool]] = []
        created: set[tuple[str, str]] = set()
        for new in batch:
            key = (new.source, new.event_id)
            if key in inserted and key not in created:
                created.add(key)
                results.append((inserted[key], True))
                continue
            stored = by_key.get(key)
            if stored is None and new.content_key is not None:
                stored = by_content.get((new.source, new.content_key))
            if stored is None:  # pragma: no cover - the insert or the conflict guarantees a row
                raise RuntimeError("event vanished after insert")
            results.append((stored, False))
        return results

    async def get(self, id: int) -> InboxEvent | None:
        """One event by its inbox id."""
        async with self._read() as session:
            row = await session.get(EventRow, id)
            return None if row is None else InboxEvent.model_validate(row)

    async def find(self, source: str, event_id: str) -> InboxEvent | None:
        """One event by its sender's id."""
        async with self._read() as session:
            row = await session.scalar(
                select(EventRow).where(EventRow.source == source, EventRow.event_id == event_id)
            )
            return None if row is None else InboxEvent.model_validate(row)

    async def list(
        self,
        *,
        status: EventStatus | None = None,
        source: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[InboxEvent]:
        """Events, newest first."""
        query = select(EventRow).order_by(EventRow.id.desc()).limit(limit).offset(offset)
        if status is not None:
            query = query.where(EventRow.status == status.value)
        if source is not None:
            query = query.where(EventRow.source == source)
        async with self._read() as session:
            return [InboxEvent.model_validate(row) for row in await session.scalars(query)]

    async def counts(self) -> dict[EventStatus, int]:
        """Number of events per status."""
        query = select(EventRow.status, func.count()).group_by(EventRow.status)
        async with self._read() as session:
            found = {EventStatus(s): n for s, n in (await session.execute(query)).all()}
        return {status: found.get(status, 0) for status in EventStatus}

    async def dead_letters(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Rows of the ``dead_letters`` view, newest first."""
        query = text("SELECT * FROM dead_letters ORDER BY id DESC LIMIT :limit")
        async with self._read() as session:
            result = await session.execute(query, {"limit": limit})
            return [dict(row) for row in result.mappings()]

    async def due(self, *, limit: int = 100, now: datetime | None = None) -> list[InboxEvent]:
        """Pending events whose next attempt is due, oldest first."""
        now = now or _now()
        query = (
            select(EventRow)
            .where(EventRow.status == EventStatus.PENDING.value)
            .where((EventRow.next_attempt_at.is_(None)) | (EventRow.next_attempt_at <= now))
            .order_by(EventRow.id)
            .limit(limit)
        )
        async with self._read() as session:
            return [InboxEvent.model_validate(row) for row in await session.scalars(query)]

    async def claim(
        self,
        owner: str,
        *,
        limit: int = 100,
        lease_seconds: float = 60.0,
        ids: Sequence[int] | None = None,
        now: datetime | None = None,
    ) -> list[InboxEvent]:
        """Take due pending events for ``owner`` until ``lease_seconds`` from now.

        An event is due when its next attempt is due and nobody holds an unexpired lease on
        it. Rows another transaction is claiming right now are skipped, not waited for.

        Args:
            owner: The claiming forwarder's name (kept in ``claimed_by``).
            limit: Most events taken.
            lease_seconds: How long the claim holds; the forwarder finishes well within it.
            ids: Only these events (still only if due and unclaimed).
            now: The current time (tests).

        Returns:
            The claimed events, oldest first.
        """
        now = now or _now()
        candidates = (
            select(EventRow.id)
            .where(EventRow.status == EventStatus.PENDING.value)
            .where(or_(EventRow.next_attempt_at.is_(None), EventRow.next_attempt_at <= now))
            .where(
                or_(
                    EventRow.lease_until.is_(None),
                    EventRow.lease_until <= now,
                    EventRow.claimed_by == owner,  # what we hold already (a replay's claim)
                )
            )
            .order_by(EventRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL only; SQLite ignores it
        )
        if ids is not None:
            candidates = candidates.where(EventRow.id.in_(list(ids)))
        statement = (
            update(EventRow)
            .where(EventRow.id.in_(candidates.scalar_subquery()))
            .values(claimed_by=owner, lease_until=now + timedelta(seconds=lease_seconds))
            .returning(EventRow)
            .execution_options(synchronize_session=False)
        )
        async with self._write() as session:
            rows = (await session.execute(statement)).scalars().all()
            claimed = [InboxEvent.model_validate(row) for row in rows]
        return sorted(claimed, key=lambda e: e.id)

    async def next_due_at(self) -> datetime | None:
        """When the earliest pending event becomes due (None: nothing pending)."""
        now = _now()
        free = or_(EventRow.lease_until.is_(None), EventRow.lease_until <= now)
        query = select(
            func.count(),
            func.min(EventRow.next_attempt_at),
        ).where(EventRow.status == EventStatus.PENDING.value, free)
        leased = select(func.min(EventRow.lease_until)).where(
            EventRow.status == EventStatus.PENDING.value, EventRow.lease_until > now
        )
        async with self._read() as session:
            count, earliest = (await session.execute(query)).one()
            lease_ends = await session.scalar(leased)
        candidates: list[datetime] = []
        if count:
            candidates.append(now if earliest is None else _aware(earliest))
        if lease_ends is not None:
            # Someone holds these; if it died, they are ours to take when the lease ends.
            candidates.append(_aware(lease_ends))
        return min(candidates) if candidates else None

    async def stats(self, *, now: datetime | None = None) -> InboxStats:
        """Counts by source and status, depth, claims, attempts and the oldest pending age."""
        now = now or _now()
        grouped = select(
            EventRow.source, EventRow.status, func.count(), func.sum(EventRow.attempts)
        ).group_by(EventRow.source, EventRow.status)
        pending = EventRow.status == EventStatus.PENDING.value
        held = and_(EventRow.lease_until.is_not(None), EventRow.lease_until > now)
        oldest = select(func.min(EventRow.received_at), func.count().filter(held)).where(pending)
        async with self._read() as session:
            rows = (await session.execute(grouped)).all()
            oldest_at, claimed = (await session.execute(oldest)).one()
        by: dict[str, dict[str, int]] = {}
        totals = dict.fromkeys(EventStatus, 0)
        attempts = 0
        for source, status, count, tried in rows:
            by.setdefault(source, {})[status] = count
            totals[EventStatus(status)] += count
            attempts += int(tried or 0)
        age = 0.0 if oldest_at is None else max(0.0, (now - _aware(oldest_at)).total_seconds())
        return InboxStats(
            by_source_status=by,
            pending=totals[EventStatus.PENDING],
            claimed=int(claimed or 0),
            forwarded=totals[EventStatus.FORWARDED],
            dead=totals[EventStatus.DEAD],
            forward_attempts=attempts,
            oldest_pending_age_seconds=round(age, 3),
        )

    async def _update(self, id: int, **values: Any) -> None:
        async with self._write() as session:
            await session.execute(
                update(EventRow).where(EventRow.id == id).values(updated_at=_now(), **values)
            )

    async def set_route(self, id: int, deployment: str, parameters: dict[str, Any]) -> None:
        """Record where a (re-)routed event goes."""
        await self._update(id, deployment=deployment, parameters=parameters)

    async def mark_forwarded(self, id: int, flow_run_id: str) -> None:
        """The flow run exists."""
        await self._update(id, **_forwarded_to(flow_run_id))

    async def mark_retry(self, id: int, error: str, next_attempt_at: datetime) -> None:
        """A transient failure: keep the event pending and try again later."""
        await self._update(id, **_retry_at(error, next_attempt_at))

    async def mark_dead(self, id: int, reason: str, *, attempted: bool = True) -> None:
        """Move the event to the dead letters with the reason."""
        await self._update(id, **_dead(reason, attempted=attempted))

    # --- batches: several events, one flow run (webhooks.batching) ---------------------------

    async def assign_batch(self, owner: str, key: str, ids: Sequence[int]) -> bool:
        """Write ``key`` on the events ``ids``, all or none, in one transaction: only while
        ``owner`` still holds their claim and none is in a batch yet. False: one of them was
        taken meanwhile (a lease ran out and another forwarder claimed it), nothing written."""
        wanted = sorted(set(ids))
        async with self._write() as session:
            result = await session.execute(
                update(EventRow)
                .where(
                    EventRow.id.in_(wanted),
                    EventRow.status == EventStatus.PENDING.value,
                    EventRow.claimed_by == owner,
                    EventRow.batch_key.is_(None),
                )
                .values(batch_key=key, updated_at=_now())
                .returning(EventRow.id)
                .execution_options(synchronize_session=False)
            )
            if sorted(result.scalars().all()) != wanted:
                await session.rollback()
                return False
        return True

    async def batch(self, key: str) -> list[InboxEvent]:
        """Every event of the batch ``key``, whatever its status, in inbox order."""
        query = select(EventRow).where(EventRow.batch_key == key).order_by(EventRow.id)
        async with self._read() as session:
            return [InboxEvent.model_validate(row) for row in await session.scalars(query)]

    async def _update_batch(self, key: str, **values: Any) -> list[InboxEvent]:
        """Update the batch's events still pending; returns them as updated (in inbox order).
        Two forwarders finishing the same batch at once: the second finds none pending."""
        async with self._write() as session:
            rows = (
                await session.execute(
                    update(EventRow)
                    .where(
                        EventRow.batch_key == key,
                        EventRow.status == EventStatus.PENDING.value,
                    )
                    .values(updated_at=_now(), **values)
                    .returning(EventRow)
                    .execution_options(synchronize_session=False)
                )
            ).scalars().all()
            updated = [InboxEvent.model_validate(row) for row in rows]
        return sorted(updated, key=lambda e: e.id)

    async def mark_batch_forwarded(self, key: str, flow_run_id: str) -> list[InboxEvent]:
        """The batch's run exists: every pending event of the batch is forwarded to it.

        Returns:
            The events this call marked (none when another forwarder marked them first).
        """
        return await self._update_batch(key, **_forwarded_to(flow_run_id))

    async def mark_batch_retry(
        self, key: str, error: str, next_attempt_at: datetime
    ) -> list[InboxEvent]:
        """:meth:`mark_retry` for every pending event of the batch (the batch stays whole)."""
        return await self._update_batch(key, **_retry_at(error, next_attempt_at))

    async def mark_batch_dead(self, key: str, reason: str) -> list[InboxEvent]:
        """:meth:`mark_dead` for every pending event of the batch."""
        return await self._update_batch(key, **_dead(reason))

    async def next_hold_ends(self, *, now: datetime | None = None) -> datetime | None:
        """When the earliest batch now waiting for more events is due (None: none waits).
        Held events are the pending ones never attempted that are due later."""
        now = now or _now()
        query = select(func.min(EventRow.next_attempt_at)).where(
            EventRow.status == EventStatus.PENDING.value,
            EventRow.attempts == 0,
            EventRow.batch_key.is_(None),
            EventRow.next_attempt_at > now,
        )
        async with self._read() as session:
            found = await session.scalar(query)
        return None if found is None else _aware(found)

    async def hold(self, owner: str, ids: Sequence[int], until: datetime) -> None:
        """Give back ``owner``'s claim on ``ids`` until ``until`` without counting an attempt:
        a batch waiting for more events (a route's ``batch.wait_seconds``)."""
        async with self._write() as session:
            await session.execute(
                update(EventRow)
                .where(
                    EventRow.id.in_(list(ids)),
                    EventRow.claimed_by == owner,
                    EventRow.status == EventStatus.PENDING.value,
                    EventRow.batch_key.is_(None),
                )
                .values(
                    next_attempt_at=until, claimed_by=None, lease_until=None, updated_at=_now()
                )
                .execution_options(synchronize_session=False)
            )

    async def replay(
        self,
        ids: Sequence[int] | None = None,
        *,
        dead: bool = False,
        claim_for: str | None = None,
        lease_seconds: float = 60.0,
    ) -> list[int]:
        """Make events pending again, to be routed afresh and forwarded.

        Args:
            ids: These events (any status). A forwarded event keeps its idempotency key (and
                its batch), so replaying it finds its existing flow run rather than starting a
                second one. A dead event leaves its batch: its batch's run was refused, so it
                is forwarded afresh, alone or batched with what is pending beside it.
            dead: All dead letters.
            claim_for: Claim the replayed events for this forwarder in the same statement,
                so a running service's forwarder (with its own, maybe older, routing) does
                not take them first. ``None``: leave them to whichever forwarder comes.
            lease_seconds: How long that claim holds.

        Returns:
            The ids made pending.
        """
        if ids is None and not dead:
            return []
        condition = (
            EventRow.id.in_(list(ids))
            if ids is not None
            else EventRow.status == EventStatus.DEAD.value
        )
        async with self._write() as session:
            result = await session.execute(
                update(EventRow)
                .where(condition)
                .values(
                    status=EventStatus.PENDING.value,
                    # Evaluated before this SET, per row: only a dead event leaves its batch.
                    batch_key=case(
                        (EventRow.status == EventStatus.DEAD.value, None),
                        else_=EventRow.batch_key,
                    ),
                    deployment=None,
                    parameters=None,
                    last_error=None,
                    next_attempt_at=None,
                    claimed_by=claim_for,
                    lease_until=(
                        None if claim_for is None else _now() + timedelta(seconds=lease_seconds)
                    ),
                    updated_at=_now(),
                )
                .returning(EventRow.id)
            )
            return sorted(result.scalars().all())


def _not_storable(new: NewEvent, exc: BaseException) -> EventNotStorable:
    key = pgtext.safe_message(f"{new.source}:{new.event_id}")
    return EventNotStorable(f"event {key} cannot be stored: {reason_of(exc)}")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _make_parent(database: str) -> None:
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
