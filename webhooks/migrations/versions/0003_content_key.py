"""A second dedupe key taken from the signed body (``content_key``), unique per source.

Some senders sign the body but not the header their delivery id comes in (Jira's
``X-Atlassian-Webhook-Identifier``): a captured body replayed under a new id must still find
its event. Rows stored before this revision have no content key and keep their event id.

Revision ID: 0003_content_key
Revises: 0002_claims
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_content_key"
down_revision: str | None = "0002_claims"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("content_key", sa.String(255), nullable=True))
    # Unique among the rows that have one: both backends let any number of NULLs through.
    op.create_index(
        "uq_events_source_content_key", "events", ["source", "content_key"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_events_source_content_key", table_name="events")
    # A plain DROP COLUMN on both backends, as in 0006: batch_alter_table copies the table on
    # SQLite, which the dead_letters view naming it forbids.
    op.drop_column("events", "content_key")
