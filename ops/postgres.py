"""Creating and dropping the PostgreSQL databases an HA stack owns (never the server's own)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

RESERVED = frozenset({"postgres", "template0", "template1"})
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_database_name(name: str) -> str:
    """``name`` if it is a plain, non-reserved identifier; ValueError naming the fix otherwise."""
    if name in RESERVED:
        raise ValueError(f"database {name!r} belongs to PostgreSQL itself; choose another name")
    if not _NAME.match(name):
        raise ValueError(
            f"database name {name!r}: use lower-case letters, digits and _ (at most 63)"
        )
    return name


def database_url(server_dsn: str, name: str, driver: str = "postgresql+asyncpg") -> str:
    """``server_dsn`` (``postgresql://user[:pw]@host:port[/any]``) pointed at database ``name``."""
    return _url(server_dsn, check_database_name(name), driver)


def _url(server_dsn: str, name: str, driver: str) -> str:
    parts = urlsplit(server_dsn)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+asyncpg"):
        raise ValueError(
            f"PostgreSQL server DSN must start with postgresql://, not {parts.scheme}://"
        )
    return urlunsplit((driver, parts.netloc, f"/{name}", "", ""))


def _maintenance_dsn(server_dsn: str) -> str:
    # CREATE / DROP DATABASE run from the server's maintenance database.
    return _url(server_dsn, "postgres", "postgresql")


async def ensure_database(server_dsn: str, name: str) -> bool:
    """Create database ``name`` unless it exists; True when it was created now."""
    import asyncpg

    check_database_name(name)
    conn = await asyncpg.connect(_maintenance_dsn(server_dsn))
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:  # created meanwhile by someone else
            return False
        return True
    finally:
        await conn.close()


async def drop_database(server_dsn: str, name: str) -> None:
    """Drop database ``name``, ending the sessions still connected to it."""
    import asyncpg

    check_database_name(name)
    conn = await asyncpg.connect(_maintenance_dsn(server_dsn))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
