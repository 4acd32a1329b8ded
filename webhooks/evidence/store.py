"""The append-only evidence table: appends serialised into one linear chain, reads for export.

Appends run in one transaction of the inbox's database: PostgreSQL takes a transaction-level
advisory lock first, so two replicas appending at once queue instead of both reading the same
head; SQLite has one writer at a time and the inbox's write lock queues this process's
writers. In that transaction the new rows and their outbox rows (one per SIEM sink) commit
together, so a record is never stored without being queued for the SIEM, nor queued without
being stored.

Nothing here updates or deletes a row; on PostgreSQL a trigger refuses it anyway (migration
0005_evidence).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.evidence import (
    GENESIS,
    ChainRow,
    EvidenceRecord,
    StoredRecord,
    canonical,
    link_hash,
)
from core.evidence.ocsf import to_ocsf
from webhooks.inbox import Inbox
from webhooks.inbox_records import NewEvent

#: The inbox source of the SIEM outbox rows; their event id is ``<sink>:<seq>``.
SIEM_SOURCE = "siem"

#: Advisory lock id of appends (any stable 64-bit number; this one spells "arb-evid").
_APPEND_LOCK = 0x6172622D65766964

_METADATA = MetaData()
EVIDENCE = Table(
    "evidence_records",
    _METADATA,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("record_id", String(64), nullable=False, unique=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("runbook", String(64), nullable=False),
    Column("subject", String(320), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)


@dataclass(frozen=True)
class Appended:
    """Where one posted record is in the chain; ``created`` False: it was there already."""

    record_id: str
    seq: int
    hash: str
    created: bool


def _utc(value: datetime) -> datetime:
    # SQLite keeps no offset: everything stored is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def stored_record(row: ChainRow) -> StoredRecord:
    """A chain row's body read back as a record."""
    body = json.loads(row.body)
    return StoredRecord(
        seq=row.seq,
        recorded_at=body["recorded_at"],
        record=EvidenceRecord.model_validate(body["record"]),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class EvidenceStore:
    """Appends to the chain in the inbox's database and queues each record for the SIEM.

    Args:
        inbox: The open inbox (its database holds the chain).
        sinks: Names of the configured SIEM sinks; one outbox row per sink per record.
    """

    def __init__(self, inbox: Inbox, sinks: Sequence[str] = ()) -> None:
        self.inbox = inbox
        self.sinks = tuple(sinks)

    async def append(self, records: Sequence[EvidenceRecord]) -> list[Appended]:
        """Append ``records`` in order; a record whose ``record_id`` is stored is not added again.

        The trigger's ``received_at`` is stamped from the inbox (the time the HR or identity
        event arrived) when the record's trigger is one of its events.
        """
        arrivals: dict[tuple[str, str], datetime | None] = {}
        records = [await self._with_received_at(record, arrivals) for record in records]
        async with self.inbox.transaction() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK}
                )
            ids = [record.record_id for record in records]
            found = {
                row.record_id: Appended(row.record_id, row.seq, row.hash, False)
                for row in await connection.execute(
                    select(EVIDENCE.c.record_id, EVIDENCE.c.seq, EVIDENCE.c.hash).where(
                        EVIDENCE.c.record_id.in_(ids)
                    )
                )
            }
            seq, prev_hash = await _head(connection) or (0, GENESIS)
            now = datetime.now(UTC)
            results: list[Appended] = []
            rows: list[dict[str, object]] = []
            outbox: list[NewEvent] = []
            for record in records:
                if record.record_id in found:
                    results.append(found[record.record_id])
                    continue
                seq += 1
                body = canonical(
                    {"recorded_at": now.isoformat(), "record": record.model_dump(mode="json")}
                )
                digest = link_hash(prev_hash, seq, body)
                rows.append(
                    {
                        "seq": seq,
                        "record_id": record.record_id,
                        "recorded_at": now,
                        "runbook": record.runbook,
                        "subject": record.subject,
                        "outcome": record.outcome.value,
                        "body": body,
                        "prev_hash": prev_hash,
                        "hash": digest,
                    }
                )
                found[record.record_id] = Appended(record.record_id, seq, digest, True)
                results.append(found[record.record_id])
                stored = StoredRecord(
                    seq=seq, recorded_at=now, record=record, prev_hash=prev_hash, hash=digest
                )
                outbox += self._outbox_rows(stored)
                prev_hash = digest
            if rows:
                await connection.execute(EVIDENCE.insert(), rows)
            if outbox:
                await self.inbox.add_within(connection, outbox)
        return results

    def _outbox_rows(self, stored: StoredRecord) -> list[NewEvent]:
        if not self.sinks:
            return []
        event = to_ocsf(stored)
        return [
            NewEvent(
                source=SIEM_SOURCE,
                event_id=f"{sink}:{stored.seq}",
                event_type=sink,
                payload=event,
            )
            for sink in self.sinks
        ]

    async def _with_received_at(
        self, record: EvidenceRecord, arrivals: dict[tuple[str, str], datetime | None]
    ) -> EvidenceRecord:
        trigger = record.trigger
        if trigger.event_id is None or trigger.received_at is not None:
            return record
        key = (trigger.source, trigger.event_id)
        if key not in arrivals:  # a run's records share their trigger: one look-up
            event = await self.inbox.find(*key)
            arrivals[key] = None if event is None else event.received_at
        if arrivals[key] is None:
            return record
        stamped = trigger.model_copy(update={"received_at": arrivals[key]})
        return record.model_copy(update={"trigger": stamped})

    async def head(self) -> tuple[int, str] | None:
        """The newest row's ``(seq, hash)``; ``None`` for an empty chain."""
        async with self.inbox.engine.connect() as connection:
            return await _head(connection)


async def _head(connection: AsyncConnection) -> tuple[int, str] | None:
    row = (
        await connection.execute(
            select(EVIDENCE.c.seq, EVIDENCE.c.hash).order_by(EVIDENCE.c.seq.desc()).limit(1)
        )
    ).first()
    return None if row is None else (row.seq, row.hash)


async def chain_rows(engine: AsyncEngine, *, batch: int = 5000) -> AsyncIterator[ChainRow]:
    """Every row of the chain, oldest first, read ``batch`` rows at a time."""
    after = 0
    while True:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(EVIDENCE.c.seq, EVIDENCE.c.prev_hash, EVIDENCE.c.hash, EVIDENCE.c.body)
                    .where(EVIDENCE.c.seq > after)
                    .order_by(EVIDENCE.c.seq)
                    .limit(batch)
                )
            ).all()
        for row in rows:
            yield ChainRow(seq=row.seq, prev_hash=row.prev_hash, hash=row.hash, body=row.body)
        if len(rows) < batch:
            return
        after = rows[-1].seq


async def chain_head(engine: AsyncEngine) -> tuple[int, str] | None:
    """The newest row's ``(seq, hash)`` of the chain at ``engine``."""
    async with engine.connect() as connection:
        return await _head(connection)
