"""The IdPs' bearer tokens: only their SHA-256 digests are stored, several may be valid at
once (rotation: create the new one, switch the IdP, revoke the old one)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

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
    """Revoke the token named ``name`` at once, on every replica.

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
    engine: AsyncEngine, authorization: str | None, *, connection: AsyncConnection | None = None
) -> str | None:
    """The name of the live token an ``Authorization: Bearer …`` header carries, else None.
    Read on ``connection`` when given (the request's own), else on a connection of its own."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    query = select(tables.tokens.c.name).where(
        tables.tokens.c.digest == digest(token.strip()), tables.tokens.c.revoked.is_(None)
    )
    if connection is not None:
        return (await connection.execute(query)).scalar_one_or_none()
    async with engine.connect() as connection:
        return (await connection.execute(query)).scalar_one_or_none()
