"""Optional SQLite persistence: a JSON snapshot of the whole account, written per mutation.

The account is a few dicts of plain dataclasses (:mod:`emulator.arize.models`), so the
simplest correct approach is to serialise all of it to JSON after every mutation and keep
that one document in a one-row SQLite table; at start the snapshot is loaded back. This is
O(account size) per write, which is fine for an emulator (hundreds of objects, not
millions), and it can never drift from the in-memory rules because it stores their result.
Only the account is stored; faults and request counters are runtime settings.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from emulator.arize.state import AccountState
from emulator.arize.store import TABLES

__all__ = ["SnapshotStore", "dump_state", "load_state", "state_view"]

SCHEMA_VERSION = 1


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _hook(obj: dict[str, Any]) -> Any:
    if set(obj) == {"$dt"}:
        return datetime.fromisoformat(obj["$dt"])
    return obj


def dump_state(state: AccountState) -> str:
    """Serialise the account to a JSON document."""
    doc: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "counters": state.counters,
        "max_key_lifetime_s": (
            state.max_key_lifetime.total_seconds() if state.max_key_lifetime else None
        ),
        "enterprise": state.enterprise,
    }
    for name in TABLES:
        doc[name] = {k: asdict(v) for k, v in getattr(state, name).items()}
    return json.dumps(doc, default=_default, separators=(",", ":"))


def state_view(state: AccountState) -> dict[str, Any]:
    """The whole account as plain JSON for ``GET /_emulator/state``, minus key hashes.

    Collections are keyed by id; datetimes are ISO strings. No raw key or password is
    ever stored, and the hashes are left out too.
    """

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    with state.lock:
        view: dict[str, Any] = {"counters": dict(state.counters)}
        for name in TABLES:
            if name != "secrets":
                view[name] = {k: plain(asdict(v)) for k, v in getattr(state, name).items()}
    return view


def load_state(text: str) -> AccountState:
    """Rebuild an account from :func:`dump_state` output."""
    doc = json.loads(text, object_hook=_hook)
    state = AccountState()
    state.counters = dict(doc["counters"])
    if doc.get("max_key_lifetime_s"):
        state.max_key_lifetime = timedelta(seconds=doc["max_key_lifetime_s"])
    state.enterprise = bool(doc.get("enterprise", True))
    for name, cls in TABLES.items():
        known = {f.name for f in fields(cls)}
        target = getattr(state, name)
        for key, data in doc.get(name, {}).items():
            target[key] = cls(**{k: v for k, v in data.items() if k in known})
    return state


class SnapshotStore:
    """One SQLite file holding the latest snapshot of one account."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY CHECK (id = 1),"
                " saved_at TEXT NOT NULL, data TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def load(self) -> AccountState | None:
        """Return the stored account, or None if nothing was saved yet."""
        with self._lock, self._connect() as conn:
            row = conn.execute("SELECT data FROM snapshot WHERE id = 1").fetchone()
        return load_state(row[0]) if row else None

    def save(self, state: AccountState) -> None:
        """Replace the stored snapshot (one transaction)."""
        data = dump_state(state)
        with self._lock:
            conn = self._connect()
            try:
                with conn:
                    conn.execute(
                        "INSERT INTO snapshot (id, saved_at, data) VALUES (1, datetime('now'), ?)"
                        " ON CONFLICT(id) DO UPDATE SET saved_at = excluded.saved_at,"
                        " data = excluded.data",
                        (data,),
                    )
            finally:
                conn.close()
