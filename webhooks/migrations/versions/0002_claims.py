"""Claims with a lease, so several forwarders share one inbox and each event is taken once.

``claimed_by`` names the forwarder holding the event until ``lease_until``; a forwarder that
dies loses its claims when the lease runs out.

Revision ID: 0002_claims
Revises: 0001_events
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002_claims"
down_revision: str | None = "0001_events"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("claimed_by", sa.String(128), nullable=True))
    op.add_column("events", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMNs on both backends, as in 0006: batch_alter_table copies the table on
    # SQLite, which the dead_letters view naming it forbids.
    op.drop_column("events", "lease_until")
    op.drop_column("events", "claimed_by")
