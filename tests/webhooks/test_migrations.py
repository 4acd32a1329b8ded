"""The inbox schema is Alembic's: upgrade from empty on both backends, several replicas
migrating at once, adopting an inbox made before migrations, the ``inbox migrate`` command."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.webhooks.backends import ROOT
from tests.webhooks.conftest import run_cli
from webhooks import schema
from webhooks.inbox import Inbox
from webhooks.inbox_records import EventStatus, NewEvent
from webhooks.schema import SchemaOutOfDate

# The DDL the service ran (SQLAlchemy create_all) before there were migrations.
_PRE_ALEMBIC_SQLITE = """
CREATE TABLE events (
    id INTEGER NOT NULL, source VARCHAR(32) NOT NULL, event_id VARCHAR(255) NOT NULL,
    delivery_id VARCHAR(255), event_type VARCHAR(255) NOT NULL, received_at DATETIME NOT NULL,
    headers JSON NOT NULL, payload JSON NOT NULL, deployment VARCHAR(255), parameters JSON,
    status VARCHAR(16) NOT NULL, flow_run_id VARCHAR(64), attempts INTEGER NOT NULL,
    last_error TEXT, next_attempt_at DATETIME, updated_at DATETIME NOT NULL, PRIMARY KEY (id),
    CONSTRAINT uq_events_source_event_id UNIQUE (source, event_id)
);
CREATE INDEX ix_events_status_due ON events (status, next_attempt_at);
CREATE VIEW IF NOT EXISTS dead_letters AS SELECT id, source, event_id, event_type,
    received_at, attempts, last_error AS reason, updated_at AS dead_since FROM events
    WHERE status = 'dead';
INSERT INTO events VALUES (1, 'okta', 'ev-1', NULL, 'user.lifecycle.deactivate',
    '2026-11-01 10:00:00', '{}', '{"n": 1}', 'offboard-user/offboard-user', '{}', 'forwarded',
    'run-1', 1, NULL, NULL, '2026-11-01 10:00:01');
INSERT INTO events VALUES (2, 'generic', 'msg-2', NULL, 'runbook.nope',
    '2026-11-01 11:00:00', '{}', '{"n": 2}', NULL, NULL, 'dead', NULL, 0,
    'no route matches', NULL, '2026-11-01 11:00:00');
INSERT INTO events VALUES (3, 'jira', 'IT-3', NULL, 'jira:issue_created',
    '2026-11-01 12:00:00', '{}', '{"n": 3}', NULL, NULL, 'pending', NULL, 0,
    NULL, NULL, '2026-11-01 12:00:00');
"""


async def _columns(url: str) -> tuple[set[str], set[str], str | None]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:

            def read(sync: object) -> tuple[set[str], set[str]]:
                found = inspect(sync)
                return (
                    {c["name"] for c in found.get_columns("events")},
                    set(found.get_view_names()),
                )

            columns, views = await conn.run_sync(read)
        return columns, views, await schema.current(engine)
    finally:
        await engine.dispose()


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    """Alembic's downgrade to ``revision`` in one transaction on ``engine`` (the service only
    ever upgrades, so this lives with its tests)."""
    from alembic import command

    def down(sync: Any) -> None:
        config = schema.alembic_config()
        config.attributes["connection"] = sync
        command.downgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(down)


async def test_upgrade_from_empty_creates_the_schema_at_head(inbox_url: str) -> None:
    async with Inbox(inbox_url) as inbox:
        assert await inbox.counts() == dict.fromkeys(EventStatus, 0)
    columns, views, at = await _columns(inbox_url)
    assert {
        "source",
        "event_id",
        "status",
        "claimed_by",
        "lease_until",
        "content_key",
        "batch_key",
    } <= columns
    assert "dead_letters" in views
    assert at == schema.head() == "0006_batch_key"


async def test_out_of_date_schema_is_refused_without_migrate(inbox_url: str) -> None:
    engine = create_async_engine(inbox_url)
    try:
        await schema.upgrade(engine, "0001_events")
    finally:
        await engine.dispose()
    with pytest.raises(SchemaOutOfDate, match="inbox migrate"):
        async with Inbox(inbox_url, migrate=False):
            pass
    async with Inbox(inbox_url) as inbox:  # migrating brings it to head
        assert await inbox.counts() == dict.fromkeys(EventStatus, 0)


async def test_replicas_migrating_at_once_all_succeed(inbox_url: str, tmp_path: Path) -> None:
    """Four `arize-runbooks inbox migrate` processes started together on an empty inbox."""
    command = [sys.executable, "-m", "cli.main", "inbox", "migrate", "--inbox-url", inbox_url]
    processes = [
        await asyncio.create_subprocess_exec(
            *command,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(4)
    ]
    outputs = [(await p.communicate())[0].decode() for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], outputs
    assert sum("migrated: empty -> 0006_batch_key" in o for o in outputs) == 1, outputs
    assert sum("already at 0006_batch_key" in o for o in outputs) == 3, outputs
    # And the services' own start-up path, several at once in one process.
    inboxes = [Inbox(inbox_url) for _ in range(3)]
    await asyncio.gather(*(i.open() for i in inboxes))
    await asyncio.gather(*(i.close() for i in inboxes))
    _, _, at = await _columns(inbox_url)
    assert at == "0006_batch_key"


async def test_pre_alembic_sqlite_inbox_is_adopted_without_losing_rows(tmp_path: Path) -> None:
    path = tmp_path / "old-inbox.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(_PRE_ALEMBIC_SQLITE)
    url = f"sqlite+aiosqlite:///{path}"

    result = await asyncio.to_thread(run_cli, "inbox", "migrate", "--inbox-url", url)
    assert result.exit_code == 0, result.output
    assert "empty -> 0006_batch_key" in result.output

    async with Inbox(url) as inbox:
        events = {e.id: e for e in await inbox.list(limit=10)}
        assert sorted(events) == [1, 2, 3]
        assert events[1].status is EventStatus.FORWARDED and events[1].flow_run_id == "run-1"
        assert events[1].payload == {"n": 1}
        assert [d["reason"] for d in await inbox.dead_letters()] == ["no route matches"]
        claimed = await inbox.claim("replica")  # the new columns work on the old rows
        assert [e.id for e in claimed] == [3]
        # A redelivery of an adopted event is still a duplicate.
        again, created = await inbox.add(
            NewEvent(source="okta", event_id="ev-1", event_type="x", payload={})
        )
        assert not created and again.id == 1


async def test_inbox_migrate_cli_is_idempotent_and_stats_reads_the_result(
    inbox_url: str,
) -> None:
    first = await asyncio.to_thread(run_cli, "inbox", "migrate", "--inbox-url", inbox_url)
    assert first.exit_code == 0 and "empty -> 0006_batch_key" in first.output
    second = await asyncio.to_thread(run_cli, "inbox", "migrate", "--inbox-url", inbox_url)
    assert second.exit_code == 0 and "already at 0006_batch_key" in second.output
    stats = await asyncio.to_thread(
        run_cli, "inbox", "stats", "--output", "json", "--inbox-url", inbox_url
    )
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.output)["depth"] == 0


async def test_batch_key_goes_down_and_up_again_keeping_the_rows(inbox_url: str) -> None:
    """0006 down (the column and its index gone, the dead_letters view still there) and up."""
    async with Inbox(inbox_url) as inbox:
        kept, _ = await inbox.add(
            NewEvent(source="generic", event_id="kept", event_type="t", payload={"n": 1})
        )
        await inbox.mark_dead(kept.id, "a reason")
    engine = create_async_engine(inbox_url)
    try:
        await _downgrade(engine, "0005_evidence")
    finally:
        await engine.dispose()
    columns, views, at = await _columns(inbox_url)
    assert "batch_key" not in columns and "content_key" in columns
    assert "dead_letters" in views and at == "0005_evidence"

    async with Inbox(inbox_url) as inbox:  # up again on open
        again = await inbox.get(kept.id)
        assert again is not None and again.payload == {"n": 1} and again.batch_key is None
        assert [d["reason"] for d in await inbox.dead_letters()] == ["a reason"]
    _, _, at = await _columns(inbox_url)
    assert at == "0006_batch_key"


def test_migrations_ship_in_the_wheel(tmp_path: Path) -> None:
    """The package data the service migrates with is in the built wheel."""
    pytest.importorskip("hatchling")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    import zipfile

    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "webhooks/migrations/env.py",
        "webhooks/migrations/script.py.mako",
        "webhooks/migrations/versions/0001_events.py",
        "webhooks/migrations/versions/0002_claims.py",
        "webhooks/migrations/versions/0003_content_key.py",
        "webhooks/migrations/versions/0004_scim.py",
        "webhooks/migrations/versions/0005_evidence.py",
        "webhooks/migrations/versions/0006_batch_key.py",
    } <= names


async def test_every_revision_goes_down_to_empty_and_up_again(inbox_url: str) -> None:
    """Each revision's downgrade runs on both backends: one step at a time down to an empty
    database (the dead_letters view, which names the events table, stands until 0001 drops
    it), then up to the head again, ready for events."""
    from alembic.script import ScriptDirectory

    async with Inbox(inbox_url):  # up to the head on open
        pass
    revisions = [
        script.revision
        for script in ScriptDirectory.from_config(schema.alembic_config()).walk_revisions()
    ]  # newest first
    engine = create_async_engine(inbox_url)
    try:
        for below in [*revisions[1:], "base"]:
            await _downgrade(engine, below)
            assert await schema.current(engine) == (None if below == "base" else below)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        assert set(tables) <= {"inbox_schema_version"}  # Alembic's own, left empty
    finally:
        await engine.dispose()
    async with Inbox(inbox_url) as inbox:  # up again on open
        added, _ = await inbox.add(
            NewEvent(source="generic", event_id="after", event_type="t", payload={"n": 1})
        )
        assert (await inbox.get(added.id)) is not None
    _, _, at = await _columns(inbox_url)
    assert at == revisions[0]
