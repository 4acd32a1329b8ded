"""Verify the chain and export it for an auditor: one row per change, plus its population.

The export reads the whole chain once, oldest first, recomputing every hash as it goes, so the
population line it writes (count, first and last hash, verified or where it breaks) is about
the very rows exported. Rows are selected by the time the service recorded them.

Leavers: a record whose trigger was an inbox event carries that event's arrival time (the HR
or identity system's termination event); for offboarding records the row gives the time from
it to the change, and ``leavers`` gives, per person, the time to the last removal.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from core.evidence import ChainCheck, EvidenceOutcome, verify_chain
from webhooks.evidence.store import chain_rows

#: Runbooks whose records are leavers' removals.
LEAVER_RUNBOOKS = frozenset({"offboard-user"})
_SUCCEEDED = frozenset(o.value for o in EvidenceOutcome if o.succeeded)

COLUMNS = (
    "seq", "hash", "prev_hash", "recorded_at", "runbook", "subject", "action", "target",
    "outcome", "before", "after", "trigger_source", "trigger_event_id", "trigger_signed",
    "hr_event_at", "requested_by", "approved", "approvers", "approval_channel", "break_glass",
    "requested_at", "approved_at", "applied_at", "verified_at", "time_to_revoke_seconds",
    "plan_hash", "run_id", "run_url", "detail", "read_back", "change",
)


@dataclass
class Population:
    """What was exported, and whether the chain it came from checked out."""

    check: ChainCheck = field(default_factory=ChainCheck)
    count: int = 0
    first_hash: str | None = None
    last_hash: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """For the JSON-lines export's first line."""
        return {
            "count": self.count,
            "first_hash": self.first_hash,
            "last_hash": self.last_hash,
            "chain_verified": self.check.ok,
            "chain_rows": self.check.count,
            "chain_head": self.check.last_hash,
            "chain_problem": None if self.check.ok else self.check.describe(),
        }

    def describe(self) -> str:
        """The population and completeness line."""
        verdict = (
            f"chain verified ({self.check.count} rows, head {self.check.last_hash})"
            if self.check.ok else self.check.describe()
        )
        return (
            f"population: {self.count} record(s), first hash {self.first_hash or '-'}, "
            f"last hash {self.last_hash or '-'}; {verdict}"
        )


async def verify(engine: AsyncEngine, head: tuple[int, str] | None = None) -> ChainCheck:
    """Recompute the chain at ``engine``; the first broken row and why, if any."""
    return verify_chain([row async for row in chain_rows(engine)], head=head)


@dataclass(frozen=True)
class Entry:
    """One stored row as exported: its place, hashes, and its record as stored (JSON data).

    Not validated into :class:`~core.evidence.EvidenceRecord` again: the service wrote each body
    from a validated record and the chain's hashes prove the body is that one; validating
    10,000 nested models would be most of the export's time.
    """

    seq: int
    hash: str
    prev_hash: str
    recorded_at: datetime
    record: dict[str, Any]


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def flatten(entry: Entry) -> dict[str, Any]:
    """One export row."""
    record, times = entry.record, entry.record["timestamps"]
    approval, trigger = record.get("approval"), record["trigger"]
    hr_at, applied = _time(trigger.get("received_at")), _time(times.get("applied"))
    revoke = None
    if record["runbook"] in LEAVER_RUNBOOKS and hr_at is not None and applied is not None:
        revoke = round((applied - hr_at).total_seconds(), 3)
    return {
        "seq": entry.seq,
        "hash": entry.hash,
        "prev_hash": entry.prev_hash,
        "recorded_at": entry.recorded_at.isoformat(),
        "runbook": record["runbook"],
        "subject": record["subject"],
        "action": record["action"],
        "target": record["target"],
        "outcome": record["outcome"],
        "before": record["before"],
        "after": record["after"],
        "trigger_source": trigger["source"],
        "trigger_event_id": trigger.get("event_id"),
        "trigger_signed": trigger["signed"],
        "hr_event_at": trigger.get("received_at"),
        "requested_by": record.get("requested_by"),
        "approved": None if approval is None else approval["approved"],
        "approvers": "" if approval is None else "; ".join(approval["approvers"]),
        "approval_channel": None if approval is None else approval["channel"],
        "break_glass": bool(approval and approval["break_glass"]),
        "requested_at": times["requested"],
        "approved_at": times.get("approved"),
        "applied_at": times.get("applied"),
        "verified_at": times.get("verified"),
        "time_to_revoke_seconds": revoke,
        "plan_hash": record["plan_hash"],
        "run_id": record.get("run_id"),
        "run_url": record.get("run_url"),
        "detail": record.get("detail", ""),
        "read_back": record.get("read_back"),
        "change": json.dumps(record["change"], sort_keys=True, separators=(",", ":")),
    }


async def selected(
    engine: AsyncEngine,
    population: Population,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Entry]:
    """The rows recorded in ``[start, end)``; the whole chain is verified into
    ``population`` on the way (the rows are read once)."""
    rows = [row async for row in chain_rows(engine)]
    population.check = verify_chain(rows)
    chosen = []
    for row in rows:
        body = json.loads(row.body)
        at = datetime.fromisoformat(body["recorded_at"])
        if (start is None or at >= start) and (end is None or at < end):
            chosen.append(Entry(row.seq, row.hash, row.prev_hash, at, body["record"]))
    population.count = len(chosen)
    if chosen:
        population.first_hash, population.last_hash = chosen[0].hash, chosen[-1].hash
    return chosen


def leavers(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    """Per offboarded person: HR event time, last removal applied, seconds in between."""
    people: dict[str, dict[str, Any]] = {}
    for entry in entries:
        record = entry.record
        if record["runbook"] not in LEAVER_RUNBOOKS or record["outcome"] not in _SUCCEEDED:
            continue
        applied = _time(record["timestamps"].get("applied"))
        hr_at = _time(record["trigger"].get("received_at"))
        person = people.setdefault(
            record["subject"],
            {"subject": record["subject"], "hr_event_at": None, "revoked_at": None, "changes": 0},
        )
        person["changes"] += 1
        if hr_at is not None and person["hr_event_at"] is None:
            person["hr_event_at"] = hr_at
        if applied is not None and (person["revoked_at"] is None or applied > person["revoked_at"]):
            person["revoked_at"] = applied
    rows = []
    for person in people.values():
        hr_at, revoked = person["hr_event_at"], person["revoked_at"]
        seconds = (revoked - hr_at).total_seconds() if hr_at and revoked else None
        rows.append(
            {
                "subject": person["subject"],
                "hr_event_at": hr_at.isoformat() if hr_at else None,
                "revoked_at": revoked.isoformat() if revoked else None,
                "time_to_revoke_seconds": None if seconds is None else round(seconds, 3),
                "changes": person["changes"],
            }
        )
    return rows


async def export(
    engine: AsyncEngine,
    out: TextIO,
    *,
    fmt: str,
    start: datetime | None = None,
    end: datetime | None = None,
    per_leaver: bool = False,
) -> Population:
    """Write the export to ``out``: CSV (population as a leading ``#`` line) or JSON lines
    (population as the first object, ``{"population": ...}``)."""
    population = Population()
    entries = await selected(engine, population, start, end)
    rows = leavers(entries) if per_leaver else [flatten(entry) for entry in entries]
    if fmt == "jsonl":
        out.write(json.dumps({"population": population.as_dict()}) + "\n")
        buffer = io.StringIO()
        for row in rows:
            buffer.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.write(buffer.getvalue())
        return population
    out.write(f"# {population.describe()}\n")
    columns = list(rows[0]) if per_leaver and rows else list(COLUMNS)
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return population
