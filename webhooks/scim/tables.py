"""The SCIM tables of the service database (created by migration ``0004_scim``)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table

from webhooks.columns import JSONColumn, UTCDateTime

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
    Column("body", JSONColumn, nullable=False),
    Column("created", UTCDateTime(), nullable=False),
    Column("last_modified", UTCDateTime(), nullable=False),
)

#: The outbox: one row per resource version that the runbooks must hear of, written in the
#: transaction of the change itself and copied to the inbox after the commit.
changes = Table(
    "scim_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(255), nullable=False, unique=True),
    Column("event_type", String(64), nullable=False),
    Column("payload", JSONColumn, nullable=False),
    Column("created", UTCDateTime(), nullable=False),
    Column("enqueued", UTCDateTime()),
)

tokens = Table(
    "scim_tokens",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("created", UTCDateTime(), nullable=False),
    Column("revoked", UTCDateTime()),
)

requests = Table(
    "scim_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("token", String(128)),
    Column("method", String(8), nullable=False),
    Column("path", String(512), nullable=False),
    Column("status", Integer, nullable=False),
    Column("event_ids", JSONColumn, nullable=False),
)
