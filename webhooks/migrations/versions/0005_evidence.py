"""The evidence chain: an append-only table of hash-chained access-change records.

On PostgreSQL a trigger refuses every UPDATE, DELETE and TRUNCATE of the table, whoever runs
it short of its owner disabling the trigger; docs/evidence.md lists the grants that keep the
service's role to INSERT and SELECT.

Revision ID: 0005_evidence
Revises: 0004_scim
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_evidence"
down_revision: str | None = "0004_scim"
branch_labels: str | None = None
depends_on: str | None = None

_REFUSE = """
CREATE OR REPLACE FUNCTION evidence_records_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'evidence_records is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "evidence_records",
        # Assigned by the appender under its lock: 1, 2, 3... with no gap, so a deleted row
        # shows as a missing number.
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("runbook", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(320), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("record_id", name="uq_evidence_records_record_id"),
    )
    op.create_index("ix_evidence_records_recorded_at", "evidence_records", ["recorded_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_REFUSE)
        op.execute(
            "CREATE TRIGGER evidence_records_no_change BEFORE UPDATE OR DELETE ON "
            "evidence_records FOR EACH ROW EXECUTE FUNCTION evidence_records_append_only()"
        )
        op.execute(
            "CREATE TRIGGER evidence_records_no_truncate BEFORE TRUNCATE ON evidence_records "
            "FOR EACH STATEMENT EXECUTE FUNCTION evidence_records_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS evidence_records_no_truncate ON evidence_records")
        op.execute("DROP TRIGGER IF EXISTS evidence_records_no_change ON evidence_records")
        op.execute("DROP FUNCTION IF EXISTS evidence_records_append_only()")
    op.drop_index("ix_evidence_records_recorded_at", table_name="evidence_records")
    op.drop_table("evidence_records")
