"""A Prefect process worker for the benches that run deployments: started on a pool against
the bench's own Prefect server, stopped with SIGTERM (killed if it does not exit in 30 s)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def process_worker(pool: str, log: Path, env: dict[str, str]) -> Iterator[None]:
    """``prefect worker start --pool POOL --type process`` with ``env``, its output in ``log``."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool,
             "--type", "process"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def prefect_env(**extra: str) -> dict[str, str]:
    """This process's environment with its Prefect API, plus ``extra``."""
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), **extra}
