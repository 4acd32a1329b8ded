"""The README's "Using it with a real account" works as written, on the emulators, up to the
first leaver deleted through a signed Okta event and the approver's Slack click.

Every ``arize-runbooks`` line between the ``first-hour`` markers runs as a subprocess, word for
word; the ``export`` lines are the whole project environment, with the emulators' key and
secrets for the placeholders. The emulators' addresses go through the variables the README
documents for them (``ARIZE_BASE_URL``, ``ARIZE_RUNBOOKS_SLACK_BASE_URL``). Nothing else of the
test process's configuration is inherited: no ``ARIZE_RUNBOOKS_*`` (the conftest's service key
included), so the service key must come from the env file ``setup`` writes. ``HOME`` is a
fresh directory (the new admin's), which is where that env file and the inbox go. Added to
the README's lines: a free ``--port`` for ``serve`` and the matching ``--url`` for
``send-test-event``, so the test cannot collide with a service already on 8787.

The Prefect server is the README's other choice, a fresh ``prefect server start`` of the new
admin's own: the session's shared test server carries blocks other tests saved (a policy with
a quorum of 2, say), which ``setup`` rightly keeps, and a new admin has none of them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.stack import free_port
from tests.cli.conftest import ROOT
from tests.fixtures.arize import ADMIN_KEY
from tests.fixtures.prefect import prefect_server_process
from tests.fixtures.slack import SLACK_BOT_TOKEN

pytestmark = pytest.mark.slow

README = ROOT / "README.md"
APPROVER = ("U0YOUAPPROVER", "you@acme.example")  # the README's --approver-email
LEAVER = "lee.leaver@acme.example"

#: What stands in for the README's placeholders (``…``), by variable.
PLACEHOLDER_VALUES = {
    "ARIZE_API_KEY": ADMIN_KEY,
    "ARIZE_RUNBOOKS_SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
    "ARIZE_RUNBOOKS_SLACK_SIGNING_SECRET": "readme-test-signing-secret-77aa",
    "ARIZE_RUNBOOKS_OKTA_SECRET": "readme-test-okta-secret-c0ffee",
}


def _block(marker: str) -> list[str]:
    text = README.read_text()
    found = re.search(rf"<!-- {marker}.*?```sh\n(.*?)```", text, re.S)
    assert found, f"README lost its {marker} block"
    return [line.split("  #")[0].strip() for line in found[1].splitlines()]


def first_hour_commands() -> list[str]:
    return [line for line in _block("first-hour") if line.startswith("arize-runbooks ")]


def first_hour_exports() -> dict[str, str]:
    exports: dict[str, str] = {}
    for line in _block("first-hour"):
        if line.startswith("export "):
            for word in shlex.split(line)[1:]:
                name, _, value = word.partition("=")
                exports[name] = value
    return exports


def argv(command: str) -> list[str]:
    words = shlex.split(command)
    assert words[0] == "arize-runbooks"
    return [sys.executable, "-m", "cli.main", *words[1:]]


def readme_environment(prefect_url: str, arize_url: str, slack_url: str, home: Path
                       ) -> dict[str, str]:
    """The README's exports with the emulators' values; nothing of ours configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARIZE_", "SLACK_"))}
    exports = first_hour_exports()
    for name, value in exports.items():
        env[name] = PLACEHOLDER_VALUES.get(name, value)
    env["PREFECT_API_URL"] = prefect_url  # the README's "your Prefect server's API"
    # The README's "or ARIZE_BASE_URL=https://…" and its "for … the Slack emulator" variable.
    del env["ARIZE_REGION"]
    env["ARIZE_BASE_URL"] = arize_url
    env["ARIZE_RUNBOOKS_SLACK_BASE_URL"] = slack_url
    readme = README.read_text()
    ours = {k for k in env if k.startswith(("ARIZE_", "SLACK_", "PREFECT_"))} - set(os.environ)
    assert all(name in readme for name in ours), ours - {n for n in ours if n in readme}
    assert "ARIZE_RUNBOOKS_SERVICE_KEY" not in env
    env.update(HOME=str(home), COLUMNS="200")
    return env


@pytest.fixture
def own_prefect_server(tmp_path: Path) -> Iterator[str]:
    """``prefect server start`` on SQLite in its own PREFECT_HOME; yield its API URL."""
    port = free_port()
    server = prefect_server_process(tmp_path / "prefect", port)
    server.start()
    try:
        server.wait_healthy()
        yield f"http://127.0.0.1:{port}/api"
    finally:
        server.stop()


@pytest.mark.timeout(1500)  # five processes and a real flow on 2 shared CPUs
def test_the_readme_takes_a_new_admin_to_the_first_approved_leaver(
    arize, slack_emulator, own_prefect_server, tmp_path
):
    slack_emulator.state.add_channel("arize-approvals")
    slack_emulator.add_user(APPROVER[0], "You Approver", email=APPROVER[1])
    env = readme_environment(own_prefect_server, arize.base_url, slack_emulator.base_url, tmp_path)
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
    env_file = tmp_path / ".arize-runbooks" / "env"
    assert env_file.stat().st_mode & 0o777 == 0o600

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes = [
        _start(argv(worker), env, tmp_path / "worker.log"),
        _start([*argv(serve), "--port", str(port)], env, tmp_path / "serve.log"),
    ]
    try:
        _wait_for(lambda: httpx.get(f"{url}/readyz", timeout=5).status_code == 200,
                  processes[1], tmp_path / "serve.log")

        (test_event,) = _block("test-event")
        sent = subprocess.run([*argv(test_event), "--url", url], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert '"offboard-user/offboard-user"' in sent.stdout

        logs = tmp_path / "worker.log"
        _wait_for(lambda: _approval_message(slack_emulator) is not None, processes[0], logs)
        message = _approval_message(slack_emulator)
        assert "could not verify" not in str(message) and "unsigned" not in str(message)
        # A person reads the message first; the click comes once the run waits at its gate.
        _wait_for(lambda: asyncio.run(_leaver_run_paused(own_prefect_server)), processes[0], logs)
        clicked = slack_emulator.click(
            f"{url}/slack/interactions",
            signing_secret=PLACEHOLDER_VALUES["ARIZE_RUNBOOKS_SLACK_SIGNING_SECRET"],
            user_id=APPROVER[0],
            action_id="approve",
            ts=message["ts"],
        )
        assert clicked.status_code == 200, clicked.text
        _wait_for(lambda: not _exists(arize, LEAVER), processes[0], logs,
                  also=lambda: f"Slack ephemerals: {slack_emulator.messages()['ephemerals']}")

        # The README's doctor, now also against the running service and worker (its
        # "--service-url http://127.0.0.1:8787", on the test's port).
        checked = subprocess.run([*argv(doctor), "--service-url", url, "--output", "json"],
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
        report = {f"{c['part']}/{c['name']}": c for c in json.loads(checked.stdout)["checks"]}
        fingerprint = report["environment/service key"]["detail"].rsplit(" ", 1)[1]
        assert report["serve/service key"]["detail"] == f"same key (fingerprint {fingerprint})"
        assert report["worker/service key"]["detail"] == f"same key (fingerprint {fingerprint})"
        assert report["worker/heartbeat"]["detail"] == "flow heartbeat every 30 s"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _approval_message(slack_emulator: Any) -> dict[str, Any] | None:
    for message in slack_emulator.messages()["messages"]:
        if LEAVER in str(message) and "approve" in str(message.get("blocks")):
            return message
    return None


async def _leaver_run_paused(api_url: str) -> bool:
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api_url) as client:
        runs = await client.read_flow_runs()
    return any(r.state is not None and r.state.is_paused() and
               (r.parameters.get("spec") or {}).get("email") == LEAVER for r in runs)


def _exists(arize: Any, email: str) -> bool:
    try:
        arize.user_id(email)
    except LookupError:
        return False
    return True


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)


def _wait_for(done: Callable[[], bool], process: subprocess.Popen[bytes], log: Path,
              also: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if done():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"timed out; {also()}; {log.name}: {log.read_text()[-3000:]}")
