"""Batched forwarding: ``batch_key`` names the one flow run several events went to together.

The forwarder writes the key on every event of a batch, in one transaction, before it asks
Prefect for the run, and uses it as the run's idempotency key: whoever takes the events up
after a crash finds the batch in the inbox and asks for the same run again. Rows stored
before this revision have no key and are forwarded one run each, as before.

Revision ID: 0006_batch_key
Revises: 0005_evidence
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_batch_key"
down_revision: str | None = "0005_evidence"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("batch_key", sa.String(255), nullable=True))
    # A batch is read back by its key (a forwarder resuming it); most rows have none.
    op.create_index("ix_events_batch_key", "events", ["batch_key"])


def downgrade() -> None:
    op.drop_index("ix_events_batch_key", table_name="events")
    # A plain DROP COLUMN on both backends (SQLite has it since 3.35; the inbox needs 3.35
    # for RETURNING anyway). Not batch_alter_table: on SQLite it copies the table, which the
    # dead_letters view naming it forbids.
    op.drop_column("events", "batch_key")
