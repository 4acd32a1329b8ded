"""The hash chain: each row's hash covers the previous row's hash, its place and its body.

``hash(n) = sha256(hash(n-1) + "\\n" + n + "\\n" + body(n))`` with ``hash(0)`` the
:data:`GENESIS` of 64 zeros and ``body`` the canonical JSON of the row (sorted keys, no
spaces, UTF-8). Editing a body breaks its own hash; deleting or reordering a row breaks the
next row's link and leaves a gap in the sequence; deleting the newest rows is caught only
against a published head (``evidence publish-head``), which is why the head is published
where the admins cannot edit it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(value: Any) -> str:
    """Canonical JSON text of a JSON-ready value: sorted keys, no spaces, non-ASCII kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link_hash(prev_hash: str, seq: int, body: str) -> str:
    """The hash of row ``seq`` with ``body``, chained to ``prev_hash``."""
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{body}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainRow:
    """One stored row, as read back."""

    seq: int
    prev_hash: str
    hash: str
    body: str


@dataclass
class ChainCheck:
    """What :func:`verify_chain` found."""

    count: int = 0
    first_hash: str | None = None
    last_hash: str | None = None
    last_seq: int = 0
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every row checked out."""
        return self.broken_seq is None

    def describe(self) -> str:
        """One line for people."""
        if not self.ok:
            return f"chain broken at row {self.broken_seq}: {self.reason}"
        if not self.count:
            return "chain empty"
        return (
            f"chain verified: {self.count} record(s), rows 1..{self.last_seq}, first hash "
            f"{self.first_hash}, last hash {self.last_hash}"
        )


def verify_chain(rows: Iterable[ChainRow], *, head: tuple[int, str] | None = None) -> ChainCheck:
    """Recompute the chain over ``rows`` (in ``seq`` order, from row 1); stop at the first break.

    Args:
        rows: Every row of the chain, oldest first.
        head: A published ``(seq, hash)``: the chain must contain that row with that hash
            (catches rows deleted from the end, which no later link can).
    """
    check = ChainCheck()
    prev_hash, expected_seq = GENESIS, 1
    for row in rows:
        problem = None
        if row.seq != expected_seq:
            problem = (
                f"row {expected_seq} is missing (next row found is {row.seq}): deleted"
                if row.seq > expected_seq
                else f"row {row.seq} appears again or out of order"
            )
            broken = expected_seq if row.seq > expected_seq else row.seq
        elif row.prev_hash != prev_hash:
            problem, broken = "its previous-hash does not match the row before it", row.seq
        elif link_hash(prev_hash, row.seq, row.body) != row.hash:
            problem, broken = "its content does not match its hash: edited", row.seq
        if problem is not None:
            check.broken_seq, check.reason = broken, problem
            return check
        if check.first_hash is None:
            check.first_hash = row.hash
        check.count += 1
        check.last_hash, check.last_seq = row.hash, row.seq
        prev_hash, expected_seq = row.hash, row.seq + 1
        if head is not None and row.seq == head[0] and row.hash != head[1]:
            check.broken_seq, check.reason = row.seq, "its hash differs from the published head"
            return check
    if head is not None and check.last_seq < head[0]:
        check.broken_seq = check.last_seq + 1
        check.reason = (
            f"the published head is row {head[0]} but the chain ends at row {check.last_seq}: "
            "rows deleted from the end"
        )
    return check
