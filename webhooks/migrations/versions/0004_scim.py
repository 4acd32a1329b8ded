"""The SCIM service provider's tables: resources (the system of record for identity), the
change outbox feeding the inbox, bearer-token digests, and the request log.

Revision ID: 0004_scim
Revises: 0003_content_key
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_scim"
down_revision: str | None = "0003_content_key"
branch_labels: str | None = None
depends_on: str | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "scim_resources",
        sa.Column("resource_type", sa.String(16), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        # Comparison keys (case-folded where the attribute is not caseExact): the columns
        # Okta's and Entra's lookups filter on, so a lookup is an index hit.
        sa.Column("user_name_key", sa.String(255)),
        sa.Column("display_name_key", sa.String(255)),
        sa.Column("external_id", sa.String(255)),
        sa.Column("email_key", sa.String(320)),
        sa.Column("active", sa.Boolean),
        sa.Column("body", _JSON, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "uq_scim_resources_user_name", "scim_resources", ["resource_type", "user_name_key"],
        unique=True,
    )  # fmt: skip
    op.create_index(
        "ix_scim_resources_display_name", "scim_resources", ["resource_type", "display_name_key"]
    )
    op.create_index(
        "ix_scim_resources_external_id", "scim_resources", ["resource_type", "external_id"]
    )
    op.create_index("ix_scim_resources_email", "scim_resources", ["resource_type", "email_key"])
    op.create_table(
        "scim_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(255), nullable=False, unique=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enqueued", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_scim_changes_enqueued", "scim_changes", ["enqueued"])
    op.create_table(
        "scim_tokens",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "scim_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token", sa.String(128)),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("event_ids", _JSON, nullable=False),
    )
    op.create_index("ix_scim_requests_at", "scim_requests", ["at"])


def downgrade() -> None:
    op.drop_table("scim_requests")
    op.drop_table("scim_tokens")
    op.drop_table("scim_changes")
    op.drop_table("scim_resources")
