"""The SCIM tables of the service database (created by migration ``0004_scim``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, MetaData, String, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

_JSON = JSON().with_variant(postgresql.JSONB(), "postgresql")


class _UTC(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite drops the offset), as the inbox keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


metadata = MetaData()

resources = Table(
    "scim_resources",
    metadata,
    Column("resource_type", String(16), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("user_name_key", String(255)),
    Column("display_name_key", String(255)),
    Column("external_id", String(255)),
    Column("email_key", String(320)),
    Column("active", Boolean),
    Column("body", _JSON, nullable=False),
    Column("created", _UTC(), nullable=False),
    Column("last_modified", _UTC(), nullable=False),
)

#: The outbox: one row per resource version that the runbooks must hear of, written in the
#: transaction of the change itself and copied to the inbox after the commit.
changes = Table(
    "scim_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(255), nullable=False, unique=True),
    Column("event_type", String(64), nullable=False),
    Column("payload", _JSON, nullable=False),
    Column("created", _UTC(), nullable=False),
    Column("enqueued", _UTC()),
)

tokens = Table(
    "scim_tokens",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("created", _UTC(), nullable=False),
    Column("revoked", _UTC()),
)

requests = Table(
    "scim_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", _UTC(), nullable=False),
    Column("token", String(128)),
    Column("method", String(8), nullable=False),
    Column("path", String(512), nullable=False),
    Column("status", Integer, nullable=False),
    Column("event_ids", _JSON, nullable=False),
)
