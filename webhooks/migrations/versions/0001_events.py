"""The events table and the dead_letters view, as the service created them before Alembic.

An inbox made by that older service already has both: this revision then only records
itself, so adopting such an inbox loses no row.

Revision ID: 0001_events
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_events"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_VIEW = (
    "dead_letters AS SELECT id, source, event_id, event_type, received_at, attempts, "
    "last_error AS reason, updated_at AS dead_since FROM events WHERE status = 'dead'"
)


def upgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("events"):
        op.create_table(
            "events",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("source", sa.String(32), nullable=False),
            sa.Column("event_id", sa.String(255), nullable=False),
            sa.Column("delivery_id", sa.String(255), nullable=True),
            sa.Column("event_type", sa.String(255), nullable=False),
            sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("headers", _JSON, nullable=False),
            sa.Column("payload", _JSON, nullable=False),
            sa.Column("deployment", sa.String(255), nullable=True),
            sa.Column("parameters", _JSON, nullable=True),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("flow_run_id", sa.String(64), nullable=True),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("last_error", sa.Text(), nullable=True),
            sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.UniqueConstraint("source", "event_id", name="uq_events_source_event_id"),
        )
        op.create_index("ix_events_status_due", "events", ["status", "next_attempt_at"])
    if bind.dialect.name == "postgresql":
        op.execute(f"CREATE OR REPLACE VIEW {_VIEW}")
    else:
        op.execute(f"CREATE VIEW IF NOT EXISTS {_VIEW}")


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS dead_letters")
    op.drop_index("ix_events_status_due", table_name="events")
    op.drop_table("events")
