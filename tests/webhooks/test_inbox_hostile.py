"""The inbox itself on both backends: JSON PostgreSQL text cannot hold is stored losslessly;
one event the database refuses never fails the rest of its group commit; no statement
parameter reaches an exception's text; SQLite's statement cache keeps no payloads."""

from __future__ import annotations

import asyncio
import ctypes
from typing import Any

import pytest

from tests.webhooks.conftest import uid
from webhooks import pgtext
from webhooks.inbox import Inbox
from webhooks.inbox_records import EventStatus, NewEvent
from webhooks.refusals import EventNotStorable

HOSTILE_PAYLOADS: dict[str, Any] = {
    "nul in a value": {"a": "x\x00y", "n": [1, "\x00"]},
    "nul in a key": {"k\x00ey": 1},
    "lone high surrogate": {"a": "x\ud800y"},
    "lone low surrogate in a key": {"\udfff": ["ok"]},
    "looks like the wrapper": {pgtext.WRAPPER_KEY: '{"a": 1}'},
    "a literal backslash-u0000": {"a": "\\u0000"},
    "nul at the top": "\x00",
}


def _event(event_id: str, payload: Any = None, **fields: Any) -> NewEvent:
    return NewEvent(
        source="generic",
        event_id=event_id,
        event_type="runbook.offboard-user",
        payload={"ok": True} if payload is None else payload,
        **fields,
    )


@pytest.mark.parametrize("name", list(HOSTILE_PAYLOADS))
async def test_json_postgresql_text_cannot_hold_is_stored_and_read_back_unchanged(
    inbox_url: str, name: str
) -> None:
    payload = HOSTILE_PAYLOADS[name]
    async with Inbox(inbox_url) as inbox:
        event, created = await inbox.add(
            _event(uid("e"), payload, headers={"x-h\x00": "v\ud800"}, parameters={"p": payload})
        )
        assert created
        stored = await inbox.get(event.id)
    assert stored is not None
    assert stored.payload == payload
    assert stored.headers == {"x-h\x00": "v\ud800"}
    assert stored.parameters == {"p": payload}


async def test_a_refused_event_fails_alone_and_its_group_commit_is_stored(
    inbox_url: str,
) -> None:
    """One event the database refuses (NOT NULL broken) among 20 in one group commit: the
    20 are committed, the one gets EventNotStorable naming it, not the database's text."""
    good = [_event(uid("good-")) for _ in range(20)]
    poisoned = NewEvent.model_construct(**{**_event("poison").__dict__, "event_type": None})
    plan = [*good[:10], poisoned, *good[10:]]
    async with Inbox(inbox_url) as inbox:
        outcomes = await asyncio.gather(*(inbox.add(e) for e in plan), return_exceptions=True)
        refused = outcomes[10]
        assert isinstance(refused, EventNotStorable), refused
        assert "generic:poison cannot be stored" in str(refused)
        assert "runbook" not in str(refused)  # no value of the event
        stored = [o for i, o in enumerate(outcomes) if i != 10]
        assert all(isinstance(o, tuple) and o[1] for o in stored), stored
        assert (await inbox.counts())[EventStatus.PENDING] == 20


async def test_a_refused_event_without_group_commit_is_not_storable(inbox_url: str) -> None:
    poisoned = NewEvent.model_construct(**{**_event("poison").__dict__, "event_type": None})
    async with Inbox(inbox_url, group_commit=False) as inbox:
        with pytest.raises(EventNotStorable):
            await inbox.add(poisoned)
        assert (await inbox.add(_event(uid("good-"))))[1]


async def test_a_refusal_names_no_parameter(
    postgres_url: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    """An id too long for its column (past the receiver's checks): the exception and the
    log carry the class and SQLSTATE, never the headers or the payload."""
    secret = "Bearer-s3cr3t-token"
    event = _event("x" * 300, {"email": "private@acme.example"}, headers={"authorization": secret})
    async with Inbox(postgres_url) as inbox:
        with pytest.raises(EventNotStorable) as raised:
            await inbox.add(event)
    text = str(raised.value) + repr(raised.value.__cause__) + debug_logs.text
    assert "SQLSTATE 22001" in str(raised.value)
    assert secret not in text
    assert "private@acme.example" not in text


def test_ids_are_escaped_reversibly_and_never_collide() -> None:
    samples = ["plain", "a\x00b", "\ud800", "json:plain", "json:a\\u0000b", "a\\u0000b"]
    stored = [pgtext.escape_id(s) for s in samples]
    assert len(set(stored)) == len(samples)
    assert all(pgtext.storable(s) for s in stored)
    assert [pgtext.unescape_id(s) for s in stored] == samples
    assert pgtext.escape_id("plain") == "plain"


async def test_sqlite_statements_keep_no_payload_after_a_batch(tmp_path: Any) -> None:
    """Defect 4's cause: a cached sqlite3 statement keeps its last bound values, and every
    batch size is an INSERT of its own. 40 batch sizes of 100 KB events: afterwards SQLite's
    own heap (``sqlite3_memory_used``) holds no more than its page cache, not the ~80 MB of
    payloads the cached statements held."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    blob = "x" * 100_000
    async with Inbox(url, max_batch=64) as inbox:
        await inbox.add(_event(uid("warm-")))
        before = _sqlite_heap()
        for size in range(1, 41):
            await asyncio.gather(
                *(inbox.add(_event(uid(f"b{size}-"), {"blob": blob})) for _ in range(size))
            )
        grown = _sqlite_heap() - before
        assert await inbox.counts() == {
            EventStatus.PENDING: 821,
            EventStatus.FORWARDED: 0,
            EventStatus.DEAD: 0,
        }
    assert grown < 16 * 2**20, f"SQLite's heap grew by {grown / 2**20:.1f} MiB"


def _sqlite_heap() -> int:
    """Bytes SQLite has allocated in this process (``sqlite3_memory_used``, found through
    the sqlite3 module's own extension, so it is the same library)."""
    import _sqlite3

    library = ctypes.CDLL(_sqlite3.__file__)
    library.sqlite3_memory_used.restype = ctypes.c_int64
    return int(library.sqlite3_memory_used())
