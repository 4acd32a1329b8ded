"""Alembic environment of the inbox: sync or async engines, or a connection handed in.

:func:`webhooks.schema.upgrade` passes its (locked) connection in ``config.attributes``;
the ``alembic`` command line instead gives ``sqlalchemy.url`` (an async URL works: the
migrations then run through ``AsyncConnection.run_sync``).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from webhooks.schema import VERSION_TABLE

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def _offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _offline()
elif (given := config.attributes.get("connection")) is not None:
    _run(given)
else:
    url = config.get_main_option("sqlalchemy.url") or ""
    if make_url(url).get_dialect().is_async:
        asyncio.run(_run_async(url))
    else:
        from sqlalchemy import create_engine

        engine = create_engine(url, poolclass=pool.NullPool)
        with engine.begin() as connection:
            _run(connection)
        engine.dispose()
