"""A child process of the HA stack: started with its own log file, waited on, stopped for sure."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx


class ProcessExited(RuntimeError):
    """A managed process ended while it was expected to run."""


def answers_healthy(
    url: str,
    *,
    within: float,
    alive: Callable[[], None],
    timeout: float,
    trust_env: bool = True,
) -> bool:
    """Poll ``url`` twice a second until it answers 200 (True) or ``within`` seconds have
    passed (False). ``alive`` is called before each poll and raises if the process is gone.

    One client for the whole wait: each new one loads the CA bundle (tens of ms of CPU), and
    this polls for as long as the process takes to start.
    """
    deadline = time.monotonic() + within
    with httpx.Client(timeout=timeout, trust_env=trust_env) as client:
        while time.monotonic() < deadline:
            alive()
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return True
            time.sleep(0.5)
    return False


class ManagedProcess:
    """One long-running command (an API server, a worker, a webhook replica).

    Args:
        name: Short label used in messages and as the log file's name.
        argv: The command.
        env: Variables added to the current environment.
        log_dir: Where ``<name>.log`` is written (stdout and stderr).
        health_url: A URL answering 200 once the process is ready (optional).
        cwd: Working directory.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_dir: Path,
        health_url: str | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_dir / f"{name}.log"
        self.health_url = health_url
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process id while it runs."""
        return self.process.pid if self.process else None

    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the command in its own session, so a Ctrl-C reaches only the stack."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env={**os.environ, **self.env},
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the log, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def check_alive(self) -> None:
        """Raise :class:`ProcessExited` with the log's tail if the process has ended."""
        if self.process is not None and self.process.poll() is not None:
            raise ProcessExited(
                f"{self.name} exited with code {self.process.returncode}; "
                f"see {self.log_path}:\n{self.log_tail()}"
            )

    def wait_healthy(self, timeout: float = 180) -> None:
        """Wait until ``health_url`` answers 200 (or, without one, that it stays up 2 s)."""
        if self.health_url is None:
            time.sleep(2)
            self.check_alive()
            return
        if answers_healthy(
            self.health_url, within=timeout, alive=self.check_alive, timeout=3, trust_env=False
        ):
            return
        raise TimeoutError(f"{self.name} not healthy within {timeout:.0f}s; see {self.log_path}")

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after ``timeout``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def kill_with_children(self) -> list[int]:
        """SIGKILL the process and every descendant at once (a lost machine); their pids."""
        import psutil

        if self.process is None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            victims = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            victims = []
        for victim in victims:
            with contextlib.suppress(psutil.NoSuchProcess):
                victim.kill()
        psutil.wait_procs(victims, timeout=10)
        self.process.wait(timeout=10)
        return [v.pid for v in victims]
