"""Export of the evidence chain: ``--records`` records appended, then exported as CSV and as
JSON lines and verified, on SQLite (and PostgreSQL with ``--postgres``). Writes
bench/results/evidence_export.json; asserts nothing.

The records are realistic offboarding records (a typed change, a signed trigger, an approval,
four timestamps, a read-back), appended in batches of ``--batch`` through the service's store
(the same code as ``POST /evidence/records``, without HTTP). The export reads the whole chain,
recomputes every hash and writes one row per change plus the population line, as
``arize-runbooks evidence export`` does.

    .venv/bin/python -m bench.evidence_export [--records 10000] [--batch 500] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from bench._figures import machine, save
from core.evidence import (
    ApprovalEvidence,
    EvidenceOutcome,
    EvidenceRecord,
    Timestamps,
    TriggerEvidence,
)
from webhooks.evidence.export import export, verify
from webhooks.evidence.store import EvidenceStore
from webhooks.inbox import Inbox

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "evidence_export.json"


def _record(n: int) -> EvidenceRecord:
    t0 = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n)
    email = f"user{n // 3}@acme.example"
    return EvidenceRecord(
        record_id=f"bench-{n}",
        runbook="offboard-user",
        subject=email,
        action="unbind-role",
        target=f"binding b{n} of {email}",
        change={"action": "unbind-role", "target": f"binding b{n} of {email}",
                "binding_id": f"b{n}", "user_id": f"u{n // 3}", "destructive": True},
        before=f"present: binding b{n} of {email}",
        after="absent",
        trigger=TriggerEvidence(source="okta", event_id=f"evt-{n // 3}", signed=True),
        requested_by="hr-bot@acme.example",
        approval=ApprovalEvidence(approved=True, approvers=["approver@acme.example"],
                                  channel="slack"),
        plan_hash=f"{n:064x}",
        timestamps=Timestamps(requested=t0, approved=t0 + timedelta(seconds=60),
                              applied=t0 + timedelta(seconds=61),
                              verified=t0 + timedelta(seconds=62)),
        run_id=f"00000000-0000-4000-8000-{n:012d}",
        run_url=f"http://prefect.example/runs/flow-run/{n}",
        outcome=EvidenceOutcome.APPLIED,
        detail="unbound",
        read_back="verified: a fresh plan after the apply found nothing left to change",
    )


async def _one(url: str, records: int, batch: int) -> dict[str, Any]:
    async with Inbox(url) as inbox:
        store = EvidenceStore(inbox)
        started = time.perf_counter()
        for first in range(0, records, batch):
            await store.append([_record(n) for n in range(first, min(records, first + batch))])
        append_s = time.perf_counter() - started
    engine = create_async_engine(url)
    try:
        figures: dict[str, Any] = {"append_s": round(append_s, 2)}
        for fmt in ("csv", "jsonl"):
            out = io.StringIO()
            started, cpu = time.perf_counter(), time.process_time()
            population = await export(engine, out, fmt=fmt)
            figures[f"export_{fmt}_s"] = round(time.perf_counter() - started, 3)
            # This process's CPU seconds: what the export costs, whatever else the machine runs.
            figures[f"export_{fmt}_cpu_s"] = round(time.process_time() - cpu, 3)
            figures[f"export_{fmt}_bytes"] = len(out.getvalue())
            figures["exported"] = population.count
            figures["chain_verified"] = population.check.ok
        started = time.perf_counter()
        check = await verify(engine)
        figures["verify_s"] = round(time.perf_counter() - started, 3)
        figures["verified_rows"] = check.count
    finally:
        await engine.dispose()
    return figures


def _run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"records": args.records, "batch": args.batch, **machine()}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'evidence.db'}"
        results["sqlite"] = asyncio.run(_one(url, args.records, args.batch))
    if args.postgres:
        from bench.webhook_ack import _pg_database

        with _pg_database() as url:
            results["postgresql"] = asyncio.run(_one(url, args.records, args.batch))
    return results


def main(argv: list[str] | None = None) -> None:
    """Measure and save."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv if argv is not None else [])
    save(args.output, _run(args))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
