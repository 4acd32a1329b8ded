"""``arize-runbooks worker``: Prefect's process worker on the ``arize-runbooks`` pool, configured.

It loads the env file ``setup`` wrote (variables already set win), so the flow runs it starts
hold the same service key, Slack token and Prefect URL as ``serve``; sets the project's worker
settings (poll each second, flow heartbeats); and runs ``prefect worker start`` as a child
process. SIGTERM or SIGINT suspends its held approval gates at once, then stops the worker
(``ops.worker_stop``); it exits with the worker's code. Refuses to start,
exit 2, without a service key: its flows could verify no trigger and no Slack vote.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from cli.errors import CliError

WORK_POOL = "arize-runbooks"
#: How long a stop may take before the worker is killed (held gates suspend well inside it).
STOP_SECONDS = 10.0
ROOT = Path(__file__).resolve().parents[1]

#: Worker settings of the project; a value already in the environment wins.
WORKER_SETTINGS: dict[str, str] = {
    # Approved runs wait for the worker's next poll: Prefect's default 10 s adds ~5 s to each.
    "PREFECT_WORKER_QUERY_SECONDS": "1",
    # Crash recovery notices a dead flow-run process by its missing heartbeats (3 intervals).
    "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
    # prefect.yaml's pull step runs the flows from this checkout.
    "ARIZE_RUNBOOKS_HOME": str(ROOT),
}


def worker_environment() -> dict[str, str]:
    """The environment the worker and its flow runs get: env file, then the worker settings.

    Raises:
        CliError: no service key and no Prefect API URL, each with the fix.
    """
    from config.env_file import env_file_path, load_env_file
    from core.service_key import ENV_VAR

    load_env_file()
    for key, value in WORKER_SETTINGS.items():
        os.environ.setdefault(key, value)
    missing = [v for v in (ENV_VAR, "PREFECT_API_URL") if not os.environ.get(v)]
    if missing:
        raise CliError(
            f"{' and '.join(missing)} not set for the worker",
            where=f"the environment and the env file {env_file_path()}",
            fix="run `arize-runbooks setup` on this machine (it writes both to the env file), "
            "or export the same values `arize-runbooks serve` has",
        )
    return dict(os.environ)


def worker_command(pool: str, extra: list[str]) -> list[str]:
    """``prefect worker start`` for ``pool`` as this interpreter runs it."""
    return [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool,
            "--type", "process", *extra]


def worker(
    pool: Annotated[str, typer.Option(help="Work pool to take runs from.")] = WORK_POOL,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Most flow runs at once (default: no limit).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Worker name (default: Prefect's).")] = None,
) -> None:
    """Start Prefect's process worker with the env file and the project's worker settings."""
    env = worker_environment()
    extra = [*(["--limit", str(limit)] if limit else []), *(["--name", name] if name else [])]
    # Its own session: a terminal Ctrl-C reaches only this process, which forwards it once.
    child = subprocess.Popen(worker_command(pool, extra), env=env, start_new_session=True)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # Prefect's worker waits for its flow-run processes and would keep a held gate's process
        # for the rest of its hold: suspend those first, then stop the worker; kill it only if
        # it is still there after STOP_SECONDS.
        from ops.worker_stop import stop_worker

        if child.poll() is None and not stop_worker(child.pid, timeout=STOP_SECONDS):
            child.kill()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    code = child.wait()
    raise typer.Exit(code if code >= 0 else 128 - code)
