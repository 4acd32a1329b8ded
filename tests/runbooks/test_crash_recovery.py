"""Kill a runbook process in the middle of apply, run it again: it converges, nothing doubled."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from arize_admin import ApiKeyType, AsyncArizeAdmin
from flows.onboard_team.flow import onboard_team
from tasks.reporting.report import RunStatus
from tests.fixtures.runbooks import clear_faults, mutation_count, set_faults

pytestmark = pytest.mark.slow

MEMBERS = 24


def team_spec() -> dict:
    return {
        "organization": "Acme",
        "space": "crash-team",
        "roles": [{"name": "Crash Analyst", "permissions": ["PROJECT_READ"]}],
        "members": [
            {"name": f"Crash {i}", "email": f"crash{i:02d}@acme.example",
             "space_role": "Crash Analyst"}
            for i in range(MEMBERS)
        ],
        "service_key": {"name": "ci-crash-team"},
    }


SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from flows.onboard_team.flow import onboard_team
    asyncio.run(onboard_team(spec=json.loads(sys.argv[1])))
    """
)


def run_and_kill(arize, api_url: str, log: Path) -> None:
    """Start onboard-team in its own process and SIGKILL it once half the members are written."""
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, json.dumps(team_spec())],
        env={**os.environ, "PREFECT_API_URL": api_url},
        cwd=Path(__file__).parents[2],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while mutation_count(arize) < MEMBERS // 2:
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the run never reached apply"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()


async def test_killed_mid_apply_then_rerun_converges_without_duplicates(
    arize, runbook_policy, prefect_harness, tmp_path: Path
):
    # Slow every request down so the kill lands inside the apply phase.
    set_faults(arize, latency_ms=60)
    await asyncio.to_thread(run_and_kill, arize, prefect_harness, tmp_path / "run.log")
    clear_faults(arize)
    assert mutation_count(arize) < 3 * MEMBERS, "the first run finished before it was killed"

    outcome = await onboard_team(spec=team_spec())

    assert outcome.status is RunStatus.COMPLETED
    assert (await onboard_team(spec=team_spec())).status is RunStatus.NO_CHANGES
    async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
        users = [u async for u in client.users.list(email="crash")]
        roles = [r async for r in client.roles.list() if r.name == "Crash Analyst"]
        org = await client.organizations.find_by_name("Acme")
        spaces = [s async for s in client.spaces.list(org_id=org.id) if s.name == "crash-team"]
        keys = [
            k
            async for k in client.api_keys.list(space_id=spaces[0].id, key_type=ApiKeyType.SERVICE)
        ]
    assert sorted(u.email for u in users) == sorted(m["email"] for m in team_spec()["members"])
    assert len(roles) == len(spaces) == len(keys) == 1
    stored = await runbook_policy.key_store.read_key("ci-crash-team", space="crash-team")
    assert stored.api_key_id == keys[0].id
