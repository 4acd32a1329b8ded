"""Driving the ``arize-runbooks`` CLI in tests: in this process (fast) or as a subprocess.

- ``cli`` (function): ``cli("run", ...)`` runs the real typer app here, as the console script
  would, and returns the exit code with stdout and stderr.
- ``cli_subprocess`` (function): the same through ``python -m cli.main`` with extra env, for
  what must not share this process's settings (a dead Prefect, ``--debug``).
- ``cli_policy`` (function): a policy block ``cli-test`` on the emulator's admin key.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from blocks.arize import ArizeCredentials
from blocks.key_store import ArizeKeyStore
from blocks.policy import RunbookPolicy

# Wide enough that rich never wraps a message the tests look for.
os.environ["COLUMNS"] = "300"

ROOT = Path(__file__).resolve().parents[2]
POLICY = "cli-test"


@dataclass
class Result:
    """Exit code and output of one CLI call."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """stdout and stderr with every run of whitespace made one space."""
        return " ".join((self.out + "\n" + self.err).split())


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run the CLI in this process."""
    from cli.main import app

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        try:
            app(list(args), prog_name="arize-runbooks")
            code = 0
        except SystemExit as ex:
            code = ex.code if isinstance(ex.code, int) else (0 if ex.code is None else 1)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def cli_subprocess() -> Callable[..., Result]:
    """Run the CLI as a subprocess with ``env`` laid over this process's environment."""

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            cwd=ROOT,
            env={**os.environ, "COLUMNS": "300", **(env or {})},
            capture_output=True,
            text=True,
            timeout=180,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return invoke


@pytest.fixture
def cli_policy(arize, prefect_harness) -> RunbookPolicy:
    """Policy ``cli-test``: the emulator's admin key, no Slack, no rate limit."""
    policy = RunbookPolicy(
        credentials=ArizeCredentials(api_key=arize.admin_key, base_url=arize.base_url),
        key_store=ArizeKeyStore(prefix=f"cli-{uuid.uuid4().hex[:8]}"),
        poll_interval_seconds=1,
        rate_limit=None,
    )
    asyncio.run(policy.asave(POLICY, overwrite=True))
    return policy


def save_policy(name: str, policy: RunbookPolicy) -> None:
    """Save ``policy`` as ``name`` (from a sync test)."""
    asyncio.run(policy.asave(name, overwrite=True))


def flow_run_count() -> int:
    """How many flow runs the Prefect API holds."""
    from prefect import get_client

    async def count() -> int:
        async with get_client() as client:
            return await client.count_flow_runs()

    return asyncio.run(count())


def cli_once(*args: str) -> Result:
    """Run the CLI in this process without capsys (for module-scoped fixtures)."""
    import contextlib
    import io

    from cli.main import app

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            app(list(args), prog_name="arize-runbooks")
            code = 0
        except SystemExit as ex:
            code = ex.code if isinstance(ex.code, int) else (0 if ex.code is None else 1)
    return Result(code, out.getvalue(), err.getvalue())
