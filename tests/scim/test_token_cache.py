"""The per-process token cache: a live token is read from the database once per
``token_cache_seconds``, a revoked one is refused once its entry has expired, a wrong one is
never remembered (so a token created after it works at once), and ``0`` turns it off. The
clock is injected: no test waits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event

from tests.scim.conftest import SCIM, Scim, running
from webhooks.scim import tokens


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _count_token_reads(scim: Scim) -> list[str]:
    """Every statement that reads ``scim_tokens`` from now on."""
    reads: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM scim_tokens" in statement:
            reads.append(statement)

    event.listen(scim.inbox.engine.sync_engine, "before_cursor_execute", seen)
    return reads


async def test_a_live_token_is_read_once_per_period(scim: Scim) -> None:
    clock = _Clock()
    scim.app.state.scim.tokens.clock = clock
    reads = _count_token_reads(scim)
    for _ in range(5):
        assert (await scim.http.get(f"{SCIM}/Users")).status_code == 200
    assert len(reads) == 1
    clock.now += scim.app.state.scim.tokens.seconds
    assert (await scim.http.get(f"{SCIM}/Users")).status_code == 200
    assert len(reads) == 2


async def test_requests_missing_the_cache_at_once_share_one_read(scim: Scim) -> None:
    """An IdP's first burst: fifty requests, none of whose token is cached yet, read the
    token once; and one that gives up meanwhile does not cancel the read for the others."""
    reads = _count_token_reads(scim)
    cache = scim.app.state.scim.tokens
    digest = tokens.digest(scim.token)
    header = f"Bearer {scim.token}"
    first = [asyncio.create_task(tokens.authenticate(scim.inbox.engine, header, cache=cache))]
    await asyncio.sleep(0)  # the read is started and pending
    assert digest in cache.reading
    first[0].cancel()  # that request gives up
    answers = await asyncio.gather(*(scim.http.get(f"{SCIM}/Users") for _ in range(50)))
    assert {answer.status_code for answer in answers} == {200}
    assert len(reads) == 1
    assert cache.reading == {}


async def test_revocation_takes_effect_when_the_entry_expires(scim: Scim) -> None:
    cache = scim.app.state.scim.tokens
    clock = _Clock()
    cache.clock = clock
    assert (await scim.http.get(f"{SCIM}/Users")).status_code == 200
    await tokens.revoke(scim.inbox.engine, "idp")
    clock.now += cache.seconds - 0.001
    assert (await scim.http.get(f"{SCIM}/Users")).status_code == 200
    clock.now += 0.001
    assert (await scim.http.get(f"{SCIM}/Users")).status_code == 401
    # Refused answers are not remembered either way: still refused, and read every time.
    reads = _count_token_reads(scim)
    assert (await scim.http.get(f"{SCIM}/Users")).status_code == 401
    assert (await scim.http.get(f"{SCIM}/Users")).status_code == 401
    assert len(reads) == 2


async def test_expiry_counts_from_before_the_read(scim: Scim) -> None:
    """A revocation committed while the token was being read is honoured ``seconds`` after
    the read began: the entry is stamped with the time taken before the read."""
    cache = scim.app.state.scim.tokens
    clock = _Clock()
    cache.clock = clock

    def slow_read(*_: Any) -> None:
        clock.now += 1.0  # the read takes a second on this clock

    event.listen(scim.inbox.engine.sync_engine, "before_cursor_execute", slow_read)
    assert (await scim.http.get(f"{SCIM}/Users")).status_code == 200
    event.remove(scim.inbox.engine.sync_engine, "before_cursor_execute", slow_read)
    started = 1000.0
    clock.now = started + cache.seconds - 0.001
    assert cache.get(tokens.digest(scim.token)) == "idp"
    clock.now = started + cache.seconds
    assert cache.get(tokens.digest(scim.token)) is None


async def test_a_wrong_token_is_not_remembered(scim: Scim) -> None:
    future = tokens.PREFIX + "not-yet-created"
    wrong = await scim.http.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {future}"})
    assert wrong.status_code == 401
    # Stored under that very value (as if created with it): accepted on the next request.
    async with scim.inbox.engine.begin() as connection:
        await connection.execute(
            tokens.tables.tokens.update()
            .where(tokens.tables.tokens.c.name == "idp")
            .values(digest=tokens.digest(future))
        )
    right = await scim.http.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {future}"})
    assert right.status_code == 200


async def test_zero_seconds_reads_every_time(tmp_path: Path) -> None:
    async with running(
        f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}", token_cache_seconds=0
    ) as scim:
        reads = _count_token_reads(scim)
        assert (await scim.http.get(f"{SCIM}/Users")).status_code == 200
        assert (await scim.http.get(f"{SCIM}/Users")).status_code == 200
        assert len(reads) == 2
        await tokens.revoke(scim.inbox.engine, "idp")
        assert (await scim.http.get(f"{SCIM}/Users")).status_code == 401


def test_the_cache_holds_at_most_size_tokens() -> None:
    clock = _Clock()
    cache = tokens.TokenCache(5.0, size=2, clock=clock)
    cache.put("a", "okta", at=clock())
    clock.now += 1
    cache.put("b", "entra", at=clock())
    clock.now += 1
    cache.put("c", "third", at=clock())  # full: "a", verified longest ago, goes
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, "entra", "third")
