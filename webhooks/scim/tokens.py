"""The IdPs' bearer tokens: only their SHA-256 digests are stored, several may be valid at
once (rotation: create the new one, switch the IdP, revoke the old one).

A process remembers the tokens it found live for a few seconds (:class:`TokenCache`), so a
burst of requests costs one database read for its token rather than one each; a revocation
therefore takes effect on every replica within those seconds."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from webhooks.scim import tables

#: Every token starts with it, so a leaked one is recognisable (secret scanners, logs).
PREFIX = "arb_scim_"


class TokenError(ValueError):
    """A token cannot be created or revoked as asked; the message says why."""


@dataclass(frozen=True)
class TokenInfo:
    """A stored token, without its secret."""

    name: str
    created: datetime
    revoked: datetime | None


def digest(token: str) -> str:
    """The stored form of a token. A token is 256 random bits: a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenCache:
    """The names of the live tokens this process verified in the last ``seconds``, by digest.

    Why: reading ``scim_tokens`` was a pool checkout and a round trip on every SCIM request,
    about a tenth of a request's CPU during an import. What it costs: a token revoked in
    the database is still accepted here until its entry is ``seconds`` old (``0``: no
    cache, every request reads the table). Only tokens found live are kept (a wrong or
    revoked token is looked up every time, so a new token works at once), and at most
    ``size`` of them: an IdP has a handful.
    """

    def __init__(
        self, seconds: float, *, size: int = 64, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._names: dict[str, tuple[str, float]] = {}
        #: The database reads in progress, by digest: the requests that miss the cache at
        #: the same moment (an IdP's first burst) wait on one read instead of one each.
        self.reading: dict[str, asyncio.Task[str | None]] = {}

    def get(self, token_digest: str) -> str | None:
        """The name of the token with this digest, if verified live less than ``seconds``
        ago; else None (and its entry, if any, is dropped)."""
        entry = self._names.get(token_digest)
        if entry is None:
            return None
        name, verified = entry
        if self.clock() - verified < self.seconds:
            return name
        del self._names[token_digest]
        return None

    def put(self, token_digest: str, name: str, *, at: float) -> None:
        """Remember that the token with this digest was live at ``at`` (a :attr:`clock`
        reading taken before the database was read: the entry expires ``seconds`` after
        the read began, not after it ended)."""
        if self.seconds <= 0:
            return
        if token_digest not in self._names and len(self._names) >= self.size:
            # Full: drop the entry verified longest ago (a handful of entries at most).
            del self._names[min(self._names, key=lambda key: self._names[key][1])]
        self._names[token_digest] = (name, at)


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def create(engine: AsyncEngine, name: str) -> str:
    """Store a new token named ``name`` and return it; it is shown once, never stored.

    Raises:
        TokenError: the name is empty, too long, or taken (revoked tokens keep their name).
    """
    name = name.strip()
    if not name or len(name) > 128:
        raise TokenError("token name: give 1 to 128 characters, e.g. okta-prod")
    token = PREFIX + secrets.token_urlsafe(32)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(tables.tokens).values(
                    name=name, digest=digest(token), created=datetime.now(UTC), revoked=None
                )
            )
    except IntegrityError:
        raise TokenError(f"token name {name!r} is taken; choose another name") from None
    return token


async def revoke(engine: AsyncEngine, name: str) -> None:
    """Revoke the token named ``name`` in the database; every replica refuses it once its
    :class:`TokenCache` entry has expired (``ARIZE_RUNBOOKS_SCIM_TOKEN_CACHE_SECONDS``).

    Raises:
        TokenError: no live token has this name.
    """
    async with engine.begin() as connection:
        result = await connection.execute(
            update(tables.tokens)
            .where(tables.tokens.c.name == name, tables.tokens.c.revoked.is_(None))
            .values(revoked=datetime.now(UTC))
        )
    if result.rowcount != 1:
        raise TokenError(f"no live token named {name!r}; `arize-runbooks scim token list`")


async def listed(engine: AsyncEngine) -> list[TokenInfo]:
    """Every token, oldest first."""
    async with engine.connect() as connection:
        rows = await connection.execute(select(tables.tokens).order_by(tables.tokens.c.created))
    return [TokenInfo(row.name, row.created, row.revoked) for row in rows]


async def authenticate(
    engine: AsyncEngine,
    authorization: str | None,
    *,
    connection: AsyncConnection | None = None,
    cache: TokenCache | None = None,
) -> str | None:
    """The name of the live token an ``Authorization: Bearer …`` header carries, else None.
    Read on ``connection`` when given (the request's own); else from ``cache`` when it has
    the token, else on a connection of its own (one read for all the requests missing the
    cache for that token at once), then kept in ``cache``."""
    token = bearer(authorization)
    if token is None:
        return None
    token_digest = digest(token)
    if cache is not None and connection is None:
        # Before the query is built: building it cost as much as the rest of a cache hit.
        name = cache.get(token_digest)
        if name is not None:
            return name
    query = select(tables.tokens.c.name).where(
        tables.tokens.c.digest == token_digest, tables.tokens.c.revoked.is_(None)
    )
    if cache is None or connection is not None:
        if connection is not None:
            return (await connection.execute(query)).scalar_one_or_none()
        async with engine.connect() as own:
            return (await own.execute(query)).scalar_one_or_none()
    reading = cache.reading.get(token_digest)
    if reading is None:
        reading = asyncio.create_task(_read(engine, query, cache, token_digest))
        cache.reading[token_digest] = reading
        reading.add_done_callback(lambda _: cache.reading.pop(token_digest, None))
    # Shielded: a request that gives up must not cancel the read the others wait on.
    return await asyncio.shield(reading)


async def _read(
    engine: AsyncEngine, query: Any, cache: TokenCache, token_digest: str
) -> str | None:
    read_at = cache.clock()
    async with engine.connect() as connection:
        name = (await connection.execute(query)).scalar_one_or_none()
    if name is not None:
        cache.put(token_digest, name, at=read_at)
    return name
