"""The inbox's records: the ``events`` table (the schema itself is Alembic's, in
:mod:`webhooks.schema`), the event as the receiver hands it in (:class:`NewEvent`) and as it is
stored (:class:`InboxEvent`), and the inbox's figures (:class:`InboxStats`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Index, Integer, Row, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from webhooks.columns import JSONColumn, UTCDateTime


class EventStatus(StrEnum):
    """Where an event is in its life."""

    PENDING = "pending"
    FORWARDED = "forwarded"
    DEAD = "dead"


class Base(DeclarativeBase):
    pass


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("source", "event_id", name="uq_events_source_event_id"),
        Index("ix_events_status_due", "status", "next_attempt_at"),
        Index("uq_events_source_content_key", "source", "content_key", unique=True),
        Index("ix_events_batch_key", "batch_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    delivery_id: Mapped[str | None] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    headers: Mapped[dict[str, str]] = mapped_column(JSONColumn)
    payload: Mapped[Any] = mapped_column(JSONColumn)
    deployment: Mapped[str | None] = mapped_column(String(255))
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSONColumn)
    status: Mapped[str] = mapped_column(String(16))
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    content_key: Mapped[str | None] = mapped_column(String(255))
    #: The batch (one flow run for several events) this event was forwarded in, if any.
    batch_key: Mapped[str | None] = mapped_column(String(255))


class NewEvent(BaseModel):
    """A verified event as the receiver hands it to the inbox."""

    model_config = ConfigDict(frozen=True)

    source: str
    event_id: str
    delivery_id: str | None = None
    event_type: str
    headers: dict[str, str] = {}
    payload: Any
    deployment: str | None = None
    parameters: dict[str, Any] | None = None
    status: EventStatus = EventStatus.PENDING
    reason: str | None = None
    #: A second dedupe key from the signed body, for senders whose event id is not signed.
    content_key: str | None = None


class InboxEvent(BaseModel):
    """One stored event (a snapshot of its row)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    source: str
    event_id: str
    delivery_id: str | None
    event_type: str
    received_at: datetime
    headers: dict[str, str]
    payload: Any
    deployment: str | None
    parameters: dict[str, Any] | None
    status: EventStatus
    flow_run_id: str | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    updated_at: datetime
    claimed_by: str | None = None
    lease_until: datetime | None = None
    content_key: str | None = None
    #: Set when the event is forwarded in a batch: the run's idempotency key, shared by every
    #: event of the batch (see :mod:`webhooks.batching`).
    batch_key: str | None = None

    @property
    def idempotency_key(self) -> str:
        """The key Prefect dedupes the flow run on: stable across redeliveries (a batched
        event's run is keyed by its ``batch_key`` instead)."""
        return f"{self.source}:{self.event_id}"


EVENTS = EventRow.__table__


def event_from_row(row: Row[Any]) -> InboxEvent:
    """The event of a row read from ``events``."""
    return InboxEvent.model_validate(row._mapping)


def inserted_event(id: int, values: dict[str, Any]) -> InboxEvent:
    """The event just inserted under ``id`` with ``values``, without reading it back."""
    # Unvalidated: every value came from a NewEvent or was made on the way in.
    fields = {
        **values,
        "id": id,
        "status": EventStatus(values["status"]),
        "flow_run_id": None,
        "next_attempt_at": None,
        "claimed_by": None,
        "lease_until": None,
        "batch_key": None,
    }
    return InboxEvent.model_construct(**fields)


class InboxStats(BaseModel):
    """Figures of the whole inbox (every replica's events), for ``/metrics`` and the CLI."""

    model_config = ConfigDict(frozen=True)

    by_source_status: dict[str, dict[str, int]]
    pending: int
    claimed: int
    forwarded: int
    dead: int
    forward_attempts: int
    oldest_pending_age_seconds: float

    @property
    def depth(self) -> int:
        """Events waiting for their flow run."""
        return self.pending
