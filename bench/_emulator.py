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

import httpx

# Started with -c so the child needs nothing but the project on sys.path; it prints where it
# listens, then serves until its stdin closes (the parent exiting closes it too).
_CHILD = """
import json, sys
from emulator.arize import ArizeEmulatorServer
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


@contextmanager
def emulator_process(seed: str = "demo") -> Iterator[EmulatorProcess]:
    """Run the emulator in a child Python process for the duration of the block."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, seed],
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
