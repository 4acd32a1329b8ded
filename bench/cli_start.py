"""How long ``arize-runbooks`` takes before a command starts: as shipped (each command's module
imported when that command runs, ``cli.main.LazyCommands``) next to every command module
imported up front, as the CLI did before. Each command is ``--help``, so the figure is the
start alone, with nothing to wait for; both variants run alternately, ``--rounds`` times each.
Writes bench/results/cli_start.json; asserts nothing.

    .venv/bin/python -m bench.cli_start [--rounds 5]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench._figures import machine, save

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "cli_start.json"
#: The commands an admin types most, and the top-level help.
COMMANDS = [
    ["--help"],
    ["approve", "--help"],
    ["inbox", "list", "--help"],
    ["scim", "log", "--help"],
    ["run", "--help"],
    ["doctor", "--help"],
]
#: The shipped entry point, and the same app with every command module imported first.
VARIANTS = {
    "shipped (lazy)": [sys.executable, "-m", "cli.main"],
    "eager (every command module first)": [
        sys.executable,
        "-c",
        "import importlib\n"
        "from cli.main import COMMANDS, app\n"
        "for module, _ in COMMANDS.values():\n"
        "    importlib.import_module(module)\n"
        "app(prog_name='arize-runbooks')",
    ],
}


def _start(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one CLI process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {
        variant: {" ".join(c): [] for c in COMMANDS} for variant in VARIANTS
    }
    for _ in range(args.rounds):
        for command in COMMANDS:
            for variant, prefix in VARIANTS.items():
                samples[variant][" ".join(command)].append(_start([*prefix, *command]))
    figures: dict[str, Any] = {"machine": machine(), "rounds": args.rounds, "commands": {}}
    for command in samples["shipped (lazy)"]:
        row: dict[str, Any] = {}
        for variant in VARIANTS:
            walls, cpus = zip(*samples[variant][command], strict=True)
            row[variant] = {
                "wall_median_s": round(statistics.median(walls), 2),
                "cpu_median_s": round(statistics.median(cpus), 2),
            }
        lazy, eager = (row[v]["wall_median_s"] for v in VARIANTS)
        row["wall_saved_percent"] = round(100 * (1 - lazy / eager), 1)
        figures["commands"][command] = row
    return save(RESULTS, figures)


if __name__ == "__main__":
    main()
