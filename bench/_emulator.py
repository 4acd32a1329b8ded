"""The Arize emulator in its own process, so it does not share the flow's interpreter lock.

An in-thread emulator would count its own request handling in the runbook's wall time; the
benchmarks compare that wall time with ``calls * latency / concurrency``, so the emulator runs
as a child process and the benchmark talks to it over loopback like any client would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

# Started with -c so the child needs nothing but the project on sys.path; it prints where it
# listens, then serves until its stdin closes (the parent exiting closes it too).
# With a second argument, the child also appends each API request's arrival (Unix time and
# method, as the journal counts it) to that file, for benches that need when, not only how many.
_CHILD = """
import json, sys, time
from emulator.arize import ArizeEmulatorServer
from emulator.arize.faults import RequestJournal
if len(sys.argv) > 2:
    arrivals = open(sys.argv[2], "a", buffering=1)
    count = RequestJournal.record
    def record(self, method, template):
        arrivals.write(f"{time.time():.6f} {method}\\n")
        count(self, method, template)
    RequestJournal.record = record
with ArizeEmulatorServer(seed=sys.argv[1]) as server:
    print(json.dumps({"base_url": server.base_url, "admin_key": server.admin_key}), flush=True)
    sys.stdin.read()
"""


@dataclass(frozen=True)
class EmulatorProcess:
    """Where the child emulator listens and its admin key."""

    base_url: str
    admin_key: str

    def reset(self, seed: str = "demo") -> str:
        """Reset the account through the control plane; returns the new admin key."""
        response = httpx.post(
            f"{self.base_url}/_emulator/reset", json={"seed": seed}, timeout=30, trust_env=False
        )
        response.raise_for_status()
        return response.json()["admin_key"]


def arrivals(log: Path, since: float = 0.0, until: float = float("inf")) -> list[float]:
    """When each request written to ``log`` reached the emulator, between two Unix times."""
    times = (float(line.split()[0]) for line in log.read_text().splitlines() if line.strip())
    return sorted(t for t in times if since <= t <= until)


@contextmanager
def emulator_process(seed: str = "demo", log: Path | None = None) -> Iterator[EmulatorProcess]:
    """Run the emulator in a child Python process for the duration of the block.

    Args:
        seed: The account to start from.
        log: A file the child appends each API request's arrival time to (see ``arrivals``).
    """
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, seed, *([str(log)] if log is not None else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise RuntimeError(f"emulator process exited with code {child.wait()}")
        yield EmulatorProcess(**json.loads(line))
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
