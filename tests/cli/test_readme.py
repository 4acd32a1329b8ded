"""The README's "Using it with a real account" works as written, on the emulators.

Every ``arize-runbooks`` and ``prefect worker`` line between the ``first-hour`` markers runs
as a subprocess, word for word; the ``export`` lines become the environment, with the
emulators' key and addresses for the placeholders. The one addition: ``serve`` gets a free
``--port`` so the test cannot collide with a service already on 8787.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cli.stack import free_port
from tests.cli.conftest import ROOT
from tests.fixtures.arize import ADMIN_KEY
from tests.fixtures.slack import SLACK_BOT_TOKEN

pytestmark = pytest.mark.slow

README = ROOT / "README.md"


def first_hour_commands() -> list[str]:
    text = README.read_text()
    block = re.search(r"<!-- first-hour.*?```sh\n(.*?)```\s*<!-- /first-hour -->", text, re.S)
    assert block, "README lost its first-hour block"
    return [line.split("  #")[0].strip() for line in block[1].splitlines()
            if line.startswith(("arize-runbooks ", "prefect worker "))]


def argv(command: str) -> list[str]:
    words = shlex.split(command)
    if words[0] == "arize-runbooks":
        return [sys.executable, "-m", "cli.main", *words[1:]]
    return [sys.executable, "-m", "prefect", *words[1:]]


def test_the_first_hour_works_as_written(arize, slack_emulator, prefect_harness, tmp_path):
    slack_emulator.state.add_channel("arize-approvals")
    env = {
        **os.environ,
        "COLUMNS": "200",
        "PREFECT_API_URL": prefect_harness,
        "ARIZE_API_KEY": ADMIN_KEY,
        "ARIZE_BASE_URL": arize.base_url,  # the README's ARIZE_REGION, for the emulator
        "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
        "ARIZE_RUNBOOKS_SLACK_SIGNING_SECRET": "readme-test-signing-secret-77aa",
        "ARIZE_RUNBOOKS_SLACK_BASE_URL": slack_emulator.base_url,
        "ARIZE_RUNBOOKS_INBOX_URL": f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
    }
    commands = first_hour_commands()
    assert [c.split()[1] for c in commands] == ["setup", "doctor", "run", "worker", "serve"]
    setup, doctor, dry_run, worker, serve = commands

    outputs = {}
    for command in (setup, doctor, dry_run):
        done = subprocess.run(argv(command), cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        outputs[command] = done.stdout
    assert "all good" in outputs[doctor]
    assert "dry run: onboard-team" in outputs[dry_run]

    port = free_port()
    processes = [
        _start(argv(worker), env, tmp_path / "worker.log"),
        _start([*argv(serve), "--port", str(port)], env, tmp_path / "serve.log"),
    ]
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/healthz", processes[1], tmp_path / "serve.log")
        state = asyncio.run(_run_deployment_dry("onboard-team/onboard-team"))
        assert state == "COMPLETED", (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer; {log.read_text()[-3000:]}")


async def _run_deployment_dry(name: str) -> str:
    """A dry run of the deployment, picked up by the README's worker; its final state type."""
    import yaml
    from prefect import get_client

    spec = yaml.safe_load((ROOT / "examples" / "onboard-team.yaml").read_text())
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(name)
        run = await client.create_flow_run_from_deployment(
            deployment.id, parameters={"spec": spec, "dry_run": True}
        )
        async with asyncio.timeout(300):
            while True:
                run = await client.read_flow_run(run.id)
                if run.state is not None and run.state.is_final():
                    return run.state.type.value
                await asyncio.sleep(1)
