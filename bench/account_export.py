"""Account as code at three sizes of the ``scale`` account: export, then plan of the export.

The emulator runs in its own process; export and plan are the feature's own ``export_to`` and
``plan_loaded`` (what the CLI's plan runs) through ``arize_admin`` over loopback. Each size is
measured in a fresh child interpreter, so its peak RSS is its own. Figures per size:

- ``requests`` of the export and of the plan against ``paged_read_bound``: one request per page
  of 100 for each collection listed (the least any complete read can make); the ratio must stay
  within 1.2;
- ``live_mib``: what the live account holds once read (tracemalloc, current): the compact
  records of people and role bindings and the small collections. Arize cannot list bindings
  per space, so this index is O(people + bindings) by necessity;
- ``export_peak_mib`` / ``plan_peak_mib``: tracemalloc's peak while exporting (reading and
  writing the files) and while planning (loading the files, reading, diffing);
- ``beyond_live_mib``: each peak minus ``live_mib``: what export and plan hold besides the
  live index. Export writes a space at a time; plan validates the files one at a time and
  diffs one space's file at a time, keeping only small indexes (people by e-mail, roles,
  spaces' names) in between;
- ``load_peak_mib`` / ``loaded_mib``: the peak of the validation pass alone (before the live
  read) and what it keeps for the planner (people by e-mail as tuples, roles, spaces' names);
- ``rss_peak_mib`` and ``rss_base_mib``: the child's peak resident set (a run without
  tracemalloc) and its resident set after the imports, before any work;
- CPU seconds of the child (informational; the machine may be shared).

Peaks include garbage not yet collected (pydantic and YAML build reference cycles), so they
vary by a few MiB from run to run with the collector's timing; each phase starts after a
collection.

Run: ``python -m bench.account_export`` (500, 2,500 and 5,000 people), or give seeds:
``python -m bench.account_export scale:users=500 scale``. Writes
``bench/results/account_export.json`` and prints the sizes side by side; asserts nothing.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "account_export.json"
SIZES = ("scale:users=500", "scale:users=2500", "scale")
MIB = 2**20


def _rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def _export_and_plan(
    base_url: str, admin_key: str, directory: Path, traced: bool
) -> dict[str, Any]:
    from arize_admin import AsyncArizeAdmin
    from flows.account_as_code.export import write_live
    from flows.account_as_code.live import read_live
    from flows.account_as_code.loader import load_account
    from flows.account_as_code.plan import plan_loaded

    figures: dict[str, Any] = {}
    async with AsyncArizeAdmin(api_key=admin_key, base_url=base_url) as client:
        if traced:
            gc.collect()  # earlier garbage out of the figure: each phase starts clean
            tracemalloc.start()
        live = await read_live(client)
        if traced:
            figures["live_mib"] = round(tracemalloc.get_traced_memory()[0] / MIB, 2)
        exported = write_live(live, directory)
        figures.update(
            users=len(live.users),
            bindings=len(live.space_bindings) + len(live.project_bindings),
            spaces=len(live.spaces),
            files=len(exported.files),
            paged_read_bound=live.paged_read_bound(),
            export_requests=live.requests,
        )
        del live, exported
        if traced:
            figures["export_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / MIB, 2)
            tracemalloc.stop()
            gc.collect()
            tracemalloc.start()
        loaded = load_account(directory)
        if traced:
            # The validation pass alone: each file composed and checked, then dropped.
            figures["load_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / MIB, 2)
            gc.collect()
            figures["loaded_mib"] = round(tracemalloc.get_traced_memory()[0] / MIB, 2)
        plan = await plan_loaded(client, loaded)
        del loaded
        if traced:
            figures["plan_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / MIB, 2)
            tracemalloc.stop()
    figures.update(plan_requests=plan.api_calls, plan_changes=len(plan.changes))
    return figures


def measure_one(seed: str) -> dict[str, Any]:
    """One size, in this interpreter: a plain run (RSS), then a traced one (tracemalloc)."""
    import flows.account_as_code.export
    import flows.account_as_code.plan  # noqa: F401  (imported before the baseline RSS)
    from bench._emulator import emulator_process

    rss_base = _rss_mib()
    with emulator_process(seed) as emulator, tempfile.TemporaryDirectory() as tmp:
        cpu = time.process_time()
        plain = asyncio.run(
            _export_and_plan(emulator.base_url, emulator.admin_key, Path(tmp) / "plain", False)
        )
        cpu = time.process_time() - cpu
        rss_peak = _rss_mib()
        traced = asyncio.run(
            _export_and_plan(emulator.base_url, emulator.admin_key, Path(tmp) / "traced", True)
        )
    bound = plain["paged_read_bound"]
    return {
        **plain,
        **traced,
        "export_ratio": round(plain["export_requests"] / bound, 3),
        "plan_ratio": round(plain["plan_requests"] / bound, 3),
        "export_beyond_live_mib": round(traced["export_peak_mib"] - traced["live_mib"], 2),
        "plan_beyond_live_mib": round(traced["plan_peak_mib"] - traced["live_mib"], 2),
        "rss_base_mib": rss_base,
        "rss_peak_mib": rss_peak,
        "cpu_s": round(cpu, 2),
    }


ROWS = (
    ("people", "users"),
    ("role bindings", "bindings"),
    ("files written", "files"),
    ("paged-read bound", "paged_read_bound"),
    ("export requests  / bound", "export_ratio"),
    ("plan requests  / bound", "plan_ratio"),
    ("plan changes after export", "plan_changes"),
    ("live index, MiB", "live_mib"),
    ("export peak, MiB", "export_peak_mib"),
    ("  beyond the live index", "export_beyond_live_mib"),
    ("plan peak, MiB", "plan_peak_mib"),
    ("  beyond the live index", "plan_beyond_live_mib"),
    ("validation pass peak, MiB", "load_peak_mib"),
    ("  kept from it for the planner", "loaded_mib"),
    ("RSS after imports, MiB", "rss_base_mib"),
    ("RSS peak, MiB", "rss_peak_mib"),
    ("CPU, s (export + plan)", "cpu_s"),
)


def table(results: dict[str, dict[str, Any]]) -> str:
    """The sizes side by side."""
    seeds = list(results)
    width = max(len(label) for label, _ in ROWS)
    lines = [" " * width + "".join(f"{seed:>20}" for seed in seeds)]
    for label, key in ROWS:
        lines.append(label.ljust(width) + "".join(f"{results[s][key]!s:>20}" for s in seeds))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--one"]:
        print(json.dumps(measure_one(args[1])))
        return
    seeds = args or list(SIZES)
    results: dict[str, dict[str, Any]] = {}
    for seed in seeds:
        # A fresh interpreter per size: ru_maxrss only ever grows within a process.
        child = subprocess.run(
            [sys.executable, "-m", "bench.account_export", "--one", seed],
            capture_output=True, text=True, check=True, env=os.environ.copy(),
        )
        results[seed] = json.loads(child.stdout.strip().splitlines()[-1])
    load = os.getloadavg()
    result = {
        "sizes": results,
        "load_average": [round(x, 2) for x in load],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(table(results))
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
