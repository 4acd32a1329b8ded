"""Account as code on the ``scale`` account: export, then plan of the export.

The emulator runs in its own process; export and plan are the feature's own ``export_account``
and ``plan_account`` through ``arize_admin`` over loopback. Figures per run:

- ``requests`` of the export and of the plan against ``paged_read_bound``: one request per page
  of 100 for each collection listed (the least any complete read can make); the ratio must stay
  within 1.2;
- ``peak_mib``: tracemalloc's peak while exporting, writing the files and planning; the same
  run twice must peak the same (nothing accumulates between runs: memory stays flat);
- wall times (informational; the machine is shared).

Run: ``python -m bench.account_export`` (the full ``scale`` seed, 5,000 people and 20,000
bindings), or ``python -m bench.account_export scale:users=500`` for a tenth. Writes
``bench/results/account_export.json`` (one entry per seed); asserts nothing.
"""

from __future__ import annotations

import asyncio
import json
import platform
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from arize_admin import AsyncArizeAdmin
from bench._emulator import emulator_process
from flows.account_as_code.export import account_spec, write_account
from flows.account_as_code.live import read_live
from flows.account_as_code.loader import load_account
from flows.account_as_code.plan import plan_account

RESULTS = Path(__file__).resolve().parent / "results" / "account_export.json"
RUNS = 2


async def _once(base_url: str, admin_key: str, directory: Path) -> dict[str, Any]:
    tracemalloc.start()
    try:
        async with AsyncArizeAdmin(api_key=admin_key, base_url=base_url) as client:
            started = time.perf_counter()
            live = await read_live(client)
            files = write_account(account_spec(live), directory)
            exported_s = time.perf_counter() - started
            export_requests = live.requests
            bound = live.paged_read_bound()
            counts = {
                "users": len(live.users),
                "bindings": len(live.space_bindings) + len(live.project_bindings),
                "spaces": len(live.spaces),
                "projects": len(live.projects),
                "service_keys": len(live.service_keys),
            }
            del live
            started = time.perf_counter()
            plan = await plan_account(client, load_account(directory).spec)
            plan_s = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {
        **counts,
        "files": len(files),
        "paged_read_bound": bound,
        "export_requests": export_requests,
        "plan_requests": plan.api_calls,
        "export_ratio": round(export_requests / bound, 3),
        "plan_ratio": round(plan.api_calls / bound, 3),
        "plan_changes": len(plan.changes),
        "export_s": round(exported_s, 3),
        "plan_s": round(plan_s, 3),
        "peak_mib": round(peak / 2**20, 1),
    }


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    seed = args[0] if args else "scale"
    with emulator_process(seed) as emulator, tempfile.TemporaryDirectory() as tmp:
        runs = [
            asyncio.run(_once(emulator.base_url, emulator.admin_key, Path(tmp) / f"run{i}"))
            for i in range(RUNS)
        ]
    result = {
        "seed": seed,
        "runs": runs,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
    }
    known = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    known[seed] = result
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(known, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
