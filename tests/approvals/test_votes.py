"""Votes behind the Slack gate: a refused answer never counts as anyone's vote, every path says
when an answer counts for nothing, and the run shows the policy that judges it.

A real restrict-project run waits at the real gate with Slack approvals on the emulator; clicks
go through the signed interactivity endpoint, CLI votes through ``python -m cli.main``, and UI
answers through Prefect's resume API, as the UI's form sends them.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect import get_client

from blocks.arize import ArizeCredentials
from blocks.key_store import ArizeKeyStore
from blocks.policy import RunbookPolicy
from emulator.slack import SlackEmulatorServer
from emulator.slack.interactions import build_click
from flows.restrict_project.flow import restrict_project
from tasks.approvals.store import read_votes
from tasks.reporting.report import RunStatus
from tests.approvals.conftest import ALICE, APPROVERS, BOB, send
from tests.fixtures.runbooks import wait_for_paused_run, waits_again
from tests.fixtures.slack import SLACK_SIGNING_SECRET

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "restrict-project.yaml"


async def slack_policy(arize: Any, slack_block: Any, *, quorum: int = 1) -> RunbookPolicy:
    """The "default" policy: Slack approvals on the emulator, the conftest's approvers."""
    policy = RunbookPolicy(
        credentials=ArizeCredentials(api_key=arize.admin_key, base_url=arize.base_url),
        slack=slack_block,
        approval=APPROVERS.model_copy(update={"quorum": quorum, "timeout_seconds": 120}),
        key_store=ArizeKeyStore(prefix=f"votes-{uuid.uuid4().hex[:8]}"),
        poll_interval_seconds=1,
        rate_limit=None,
    )
    await policy.asave("default", overwrite=True)
    return policy


def ephemerals(emulator: SlackEmulatorServer, user: str) -> list[str]:
    return [e["text"] for e in emulator.messages()["ephemerals"] if e["user"] == user]


async def click(service: Any, emulator: SlackEmulatorServer, user: str, action: str = "approve"):
    signed = build_click(
        emulator.state, signing_secret=SLACK_SIGNING_SECRET, user_id=user, action_id=action
    )
    async with service() as client:
        assert (await send(client, signed)).status_code == 200


def cli(*args: str, api_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env={**os.environ, "PREFECT_API_URL": api_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_a_refused_raw_resume_does_not_take_the_approvers_vote(
    arize, prefect_harness, slack_block, service, slack_emulator
):
    await slack_policy(arize, slack_block)
    since = datetime.now(UTC)
    flow = asyncio.create_task(restrict_project(spec=yaml.safe_load(EXAMPLE.read_text())))
    run = await wait_for_paused_run("restrict-project", since)
    gate = run.state.state_details.pause_key

    # Anyone with Prefect API access can answer the form naming Bob; Slack is configured, so
    # the policy does not count UI answers at all.
    async with get_client() as client:
        answer = {"approved": True, "approver": BOB, "comment": ""}
        assert (await client.resume_flow_run(run.id, run_input=answer)).status.value == "ACCEPT"
    again = await waits_again(run.id, gate)
    async with get_client() as client:
        assert await read_votes(client, run.id, gate) == [], "a refused answer stores no vote"
    message = again.state.message or ""
    assert "refused and not recorded" in message
    assert "Waiting for approval until" in message

    await click(service, slack_emulator, BOB)
    async with asyncio.timeout(120):
        outcome = await flow
    assert outcome.status is RunStatus.COMPLETED
    assert outcome.approver == "bob@acme.example"
    assert not [t for t in ephemerals(slack_emulator, BOB) if "already voted" in t]


async def test_a_cli_vote_after_a_slack_vote_counts_for_nothing_and_says_so(
    arize, prefect_harness, slack_block, service, slack_emulator
):
    await slack_policy(arize, slack_block, quorum=2)
    since = datetime.now(UTC)
    flow = asyncio.create_task(restrict_project(spec=yaml.safe_load(EXAMPLE.read_text())))
    run = await wait_for_paused_run("restrict-project", since)

    await click(service, slack_emulator, ALICE)
    assert ephemerals(slack_emulator, ALICE) == ["Your approval is recorded: 1 so far, 2 needed."]
    # Alice again, from a terminal, under the e-mail on her Slack profile.
    again = await asyncio.to_thread(
        cli, "approve", str(run.id), "--as", "Alice@acme.example", api_url=prefect_harness
    )
    assert again.returncode == 2, again.stderr
    assert "already voted on this request (via slack)" in again.stderr
    assert "counts for nothing" in again.stderr
    assert "approval recorded" not in again.stderr

    # Bob from a terminal completes the quorum; his Slack click afterwards counts for nothing.
    second = await asyncio.to_thread(
        cli, "approve", str(run.id), "--as", "bob@acme.example", api_url=prefect_harness
    )
    assert second.returncode == 0, second.stderr
    assert "approved by" in second.stderr
    async with asyncio.timeout(120):
        outcome = await flow
    assert outcome.status is RunStatus.COMPLETED
    assert outcome.approver == "alice@acme.example, bob@acme.example"


async def test_a_slack_click_after_a_cli_vote_says_already_voted(
    arize, prefect_harness, slack_block, service, slack_emulator
):
    await slack_policy(arize, slack_block, quorum=2)
    since = datetime.now(UTC)
    flow = asyncio.create_task(restrict_project(spec=yaml.safe_load(EXAMPLE.read_text())))
    run = await wait_for_paused_run("restrict-project", since)
    gate = run.state.state_details.pause_key

    first = await asyncio.to_thread(
        cli, "approve", str(run.id), "--as", "alice@acme.example", api_url=prefect_harness
    )
    assert first.returncode == 0, first.stderr
    assert "1 of 2 approvals" in first.stderr
    await waits_again(run.id, gate)
    await click(service, slack_emulator, ALICE)
    assert ephemerals(slack_emulator, ALICE) == [
        "You already voted on this request (an approval via cli); this click counts for nothing."
    ]
    await click(service, slack_emulator, BOB, "reject")
    async with asyncio.timeout(120):
        assert (await flow).status is RunStatus.REJECTED


async def test_the_resume_form_and_the_run_page_show_the_policy(
    arize, prefect_harness, slack_block, service, slack_emulator
):
    await slack_policy(arize, slack_block)
    since = datetime.now(UTC)
    flow = asyncio.create_task(restrict_project(spec=yaml.safe_load(EXAMPLE.read_text())))
    run = await wait_for_paused_run("restrict-project", since)
    key = run.state.state_details.pause_key

    # The run's page: its Paused state's message.
    page = run.state.message or ""
    assert "Waiting for approval until" in page and " UTC by one person of:" in page
    assert "members of Slack group arize-approvers" in page and "Slack user U0CAROL" in page
    assert "Prefect UI answers do NOT count" in page
    # The resume form, as Prefect stores it for the UI: its description and field descriptions
    # (saved by now: wait_for_paused_run returns only then).
    async with get_client() as client:
        raw = await client.read_flow_run_input(run.id, f"paused-{key}-description")
        description = json.loads(raw)
        schema = json.loads(await client.read_flow_run_input(run.id, f"paused-{key}-schema"))
    assert "**Who may approve:**" in description and "arize-approvers" in description
    assert "**Prefect UI answers:** Prefect UI answers do NOT count" in description
    assert "**Expires:**" in description and "UTC" in description
    approver = schema["properties"]["approver"]["description"]
    assert "May approve:" in approver and "do NOT count" in approver

    await click(service, slack_emulator, ALICE, "reject")
    async with asyncio.timeout(120):
        assert (await flow).status is RunStatus.REJECTED
    (message,) = [m for m in slack_emulator.messages()["messages"] if not m.get("thread_ts")]
    header = next(b for b in message["blocks"] if b["type"] == "header")["text"]["text"]
    assert header == "Rejected: restrict-project"
