"""The inbox schema: Alembic migrations shipped in ``webhooks/migrations``, applied safely
when several replicas start at once.

PostgreSQL: the upgrade runs in one transaction holding a transaction-level advisory lock,
so a second replica waits, then finds the schema at head and does nothing. SQLite: a lock
file next to the database serialises processes (the database's own lock would make the
loser fail with "database is locked" mid-upgrade rather than wait for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

#: Alembic's bookkeeping table; not ``alembic_version``, so the inbox can share a database
#: with anything else that uses Alembic (Prefect does).
VERSION_TABLE = "inbox_schema_version"

#: Advisory lock id (any stable 64-bit number; this one spells "arb-inbx").
_ADVISORY_LOCK = 0x6172622D696E6278

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class SchemaOutOfDate(RuntimeError):
    """The inbox database is not at the schema this code needs."""


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the shipped migrations (no ``alembic.ini`` needed)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    if url is not None:
        # Alembic's config is a ConfigParser: a literal % must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head() -> str:
    """The newest revision shipped with this code."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError("no inbox migrations found")
    return revision


def _current(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


async def current(engine: AsyncEngine) -> str | None:
    """The revision the database is at (``None``: never migrated)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


def _upgrade(connection: Connection, revision: str) -> tuple[str | None, str | None]:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
    before = _current(connection)  # read under the lock: what this call found
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
    return before, _current(connection)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate the inbox to ``revision``; safe to call from many processes at once.

    Returns:
        The revision this call found (once it held the lock) and the one it left.
    """
    async with _file_lock(_lock_path(engine)), engine.connect() as connection:
        # The lock, the DDL and the version row commit together (Alembic joins the
        # transaction already open on this connection instead of starting its own).
        found = await connection.run_sync(_upgrade, revision)
        await connection.commit()
    return found


async def migrate_url(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate the inbox at ``url`` (``arize-runbooks inbox migrate``).

    Returns:
        The revision before and after.
    """
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        if (lock := _lock_path(engine)) is not None:
            await asyncio.to_thread(lock.parent.mkdir, parents=True, exist_ok=True)
        return await upgrade(engine, revision)
    finally:
        await engine.dispose()


async def require_head(engine: AsyncEngine) -> None:
    """Raise :class:`SchemaOutOfDate` unless the database is at :func:`head`."""
    at, wanted = await current(engine), head()
    if at != wanted:
        raise SchemaOutOfDate(
            f"the inbox schema is at {at or 'nothing'}, this service needs {wanted}: "
            "run `arize-runbooks inbox migrate` (or start the service with migrations on)"
        )


def _lock_path(engine: AsyncEngine) -> Path | None:
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or database in ("", ":memory:"):
        return None
    path = Path(database).expanduser()
    return path.with_name(path.name + ".migrate.lock")


def _open_lock_file(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


@contextlib.asynccontextmanager
async def _file_lock(path: Path | None) -> AsyncIterator[None]:
    if path is None:
        yield
        return
    fd = await asyncio.to_thread(_open_lock_file, path)
    try:
        # flock blocks; in a thread, so the event loop keeps serving while we wait.
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
