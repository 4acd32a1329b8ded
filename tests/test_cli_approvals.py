"""`arize-runbooks approve|reject`: the terminal path to the same approval gate."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from cli.approvals import GateNotAnswered, answer_gate
from flows.offboard_user.flow import offboard_user
from tasks.reporting.report import RunStatus
from tests.fixtures.runbooks import mutation_count, wait_for_paused_run

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[1]


def offboard_spec() -> dict:
    return yaml.safe_load((ROOT / "examples" / "offboard-user.yaml").read_text())


def cli(*args: str, api_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env={**os.environ, "PREFECT_API_URL": api_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_the_leaver_cannot_approve_and_the_cli_rejects(
    arize, runbook_policy, prefect_harness
):
    since = datetime.now(UTC)
    before = mutation_count(arize)
    run = asyncio.create_task(offboard_user(spec=offboard_spec()))
    paused = await wait_for_paused_run("offboard-user", since)

    with pytest.raises(GateNotAnswered, match="may not decide a run that concerns them"):
        await answer_gate(paused.id, approved=True, approver="Lee.Leaver@acme.example")
    result = await asyncio.to_thread(
        cli, "reject", str(paused.id), "--as", "approver@acme.example", "--comment",
        "wrong person", api_url=prefect_harness,
    )
    outcome = await run

    assert result.returncode == 0, result.stderr
    assert "rejection recorded" in result.stderr
    assert outcome.status is RunStatus.REJECTED
    assert outcome.approver == "approver@acme.example"
    assert mutation_count(arize) == before


async def test_answering_a_run_that_is_not_waiting_fails_clearly(arize, runbook_policy,
                                                                 prefect_harness):
    outcome = await offboard_user(spec=offboard_spec(), dry_run=True)
    assert outcome.status is RunStatus.DRY_RUN
    from prefect import get_client

    async with get_client() as client:
        (latest,) = await client.read_flow_runs(limit=1, sort="START_TIME_DESC")
    result = await asyncio.to_thread(
        cli, "approve", str(latest.id), "--as", "approver@acme.example", api_url=prefect_harness
    )

    assert result.returncode == 2
    assert "not waiting for approval" in result.stderr
    assert "fix:" in result.stderr


@pytest.mark.parametrize(
    ("run_id", "what"),
    [
        (
            "00000000-0000-4000-8000-000000000000",
            "no flow run 00000000-0000-4000-8000-000000000000",
        ),
        ("not-a-run", "'not-a-run' is not a flow run id"),
    ],
    ids=["unknown", "malformed"],
)
def test_an_unknown_or_malformed_run_id_is_explained(prefect_harness, run_id, what):
    result = cli("approve", run_id, "--as", "approver@acme.example", api_url=prefect_harness)

    assert result.returncode == 2, result.stderr
    assert what in result.stderr
    assert "where: the RUN_ID argument" in result.stderr
    assert "fix:" in result.stderr
    assert "unexpected error" not in result.stderr and "Traceback" not in result.stderr
