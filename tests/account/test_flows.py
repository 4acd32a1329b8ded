"""The flows end to end: real emulator over HTTP, real Prefect (test harness).

apply-account takes the files through the engine's gate; detect-drift reports a drift once
while it is unchanged, and says nothing after it is reverted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from arize_admin import PredefinedRole
from blocks.slack import SlackApprovals
from emulator.slack import SlackEmulatorServer
from emulator.slack.interactions import block_actions_payload
from flows.account_as_code.drift import DriftSource
from flows.account_as_code.export import export_account, write_account
from flows.account_as_code.flow import apply_account, detect_drift
from flows.account_as_code.loader import load_account
from flows.account_as_code.slack import ADOPT, REVERT, DriftClickHandler, DriftOutcome
from flows.slack_interactions import RunRequest
from tasks.reporting.report import RunStatus
from tests.fixtures.runbooks import admin_client, mutation_count, run_with_answer
from tests.fixtures.slack import SLACK_BOT_TOKEN

pytestmark = pytest.mark.slow

FRAUD = "spaces/Acme/fraud-detection.yaml"


async def export_to(arize, directory: Path) -> Path:
    async with admin_client(arize) as client:
        write_account(await export_account(client), directory)
    data = yaml.safe_load((directory / "account.yaml").read_text())
    data["ownership"]["space_members"] = "authoritative"
    (directory / "account.yaml").write_text(yaml.safe_dump(data))
    return directory


async def test_apply_account_gates_a_removal_and_never_deletes_the_person(
    arize, runbook_policy, tmp_path: Path
):
    directory = await export_to(arize, tmp_path / "account")
    path = directory / FRAUD
    data = yaml.safe_load(path.read_text())
    data["spaces"][0]["members"] = [
        m for m in data["spaces"][0]["members"] if m["email"] != "dana@acme.example"
    ]
    data["spaces"][0]["members"].append({"email": "sam@acme.example", "role": "READ_ONLY"})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    spec = load_account(directory).spec

    outcome = await run_with_answer(
        apply_account(spec=spec), "apply-account", approved=True
    )

    assert outcome.status is RunStatus.COMPLETED
    async with admin_client(arize) as client:
        assert await client.users.find_by_email("dana@acme.example") is not None
    before = mutation_count(arize)
    again = await apply_account(spec=spec)
    assert again.status is RunStatus.NO_CHANGES
    assert mutation_count(arize) == before


async def test_detect_drift_reports_once_while_unchanged_then_not_after_revert(
    arize, runbook_policy, tmp_path: Path
):
    directory = await export_to(arize, tmp_path / "account")
    source = DriftSource(path=str(directory))
    name = tmp_path.name  # a variable of this test's own
    assert not (await detect_drift(source=source, name=name)).drift

    async with admin_client(arize) as client:
        fraud = await client.spaces.find_by_name("fraud-detection")
        sam = await client.users.find_by_email("sam@acme.example")
        await client.spaces.add_user(fraud.id, user_id=sam.id, role=PredefinedRole(name="ADMIN"))

    first = await detect_drift(source=source, name=name)
    assert first.drift and first.reported
    assert any("sam@acme.example" in c for c in first.changes)
    assert "sam@acme.example" in first.adopt_patch
    second = await detect_drift(source=source, name=name)
    assert second.drift and not second.reported, "the same drift is not reported twice"

    revert = await run_with_answer(
        apply_account(spec=load_account(directory).spec), "apply-account", approved=True
    )
    assert revert.status is RunStatus.COMPLETED
    after = await detect_drift(source=source, name=name)
    assert not after.drift


CHANNEL = "#arize-approvals"


@pytest.fixture
async def slack_policy(runbook_policy, slack_emulator: SlackEmulatorServer):
    """The test policy with the Slack app on the emulator; Sam is in the workspace."""
    policy = runbook_policy.model_copy(
        update={
            "slack": SlackApprovals(
                bot_token=SLACK_BOT_TOKEN, channel=CHANNEL, base_url=slack_emulator.base_url
            )
        }
    )
    await policy.asave("default", overwrite=True)
    slack_emulator.add_user("U0SAM", "sam", "sam@acme.example")
    return policy


def drift_buttons(slack: SlackEmulatorServer) -> tuple[dict[str, Any], dict[str, dict]]:
    """The drift message and its buttons by action id."""
    for message in slack.messages()["messages"]:
        for block in message.get("blocks") or []:
            buttons = {
                e["action_id"]: {**e, "block_id": block["block_id"]}
                for e in block.get("elements", [])
                if e.get("action_id") in (REVERT, ADOPT)
            }
            if buttons:
                return message, buttons
    raise AssertionError("no drift message with buttons")


def click(slack: SlackEmulatorServer, message: dict, button: dict) -> dict[str, Any]:
    return block_actions_payload(
        user_id="U0SAM", user_name="sam",
        action={k: v for k, v in button.items() if k != "block_id"},
        block_id=button["block_id"], channel_id=message["channel"], message=message,
    )


async def test_drift_in_slack_revert_runs_the_gated_apply_and_adopt_points_at_the_patch(
    arize, slack_policy, slack_emulator: SlackEmulatorServer, tmp_path: Path
):
    directory = await export_to(arize, tmp_path / "account")
    source = DriftSource(path=str(directory))
    async with admin_client(arize) as client:
        fraud = await client.spaces.find_by_name("fraud-detection")
        sam = await client.users.find_by_email("sam@acme.example")
        await client.spaces.add_user(fraud.id, user_id=sam.id, role=PredefinedRole(name="ADMIN"))

    report = await detect_drift(source=source, name="slack")
    assert report.reported
    message, buttons = drift_buttons(slack_emulator)
    assert "unbind role sam@acme.example from fraud-detection" in str(message["blocks"])
    thread = [m for m in slack_emulator.messages()["messages"] if m.get("thread_ts")]
    assert thread and "sam@acme.example" in thread[0]["text"], "the adopt patch is in the thread"

    queued: list[RunRequest] = []

    async def queue(request: RunRequest) -> tuple[int, bool]:
        new = all(r.event_id != request.event_id for r in queued)
        queued.append(request)
        return len(queued), new

    handler = DriftClickHandler(
        queue=queue, bot_token=SLACK_BOT_TOKEN, slack_base_url=slack_emulator.base_url
    )
    adopt = await handler.handle(click(slack_emulator, message, buttons[ADOPT]))
    assert adopt is not None and adopt.outcome is DriftOutcome.ADOPT_SHOWN
    revert = await handler.handle(click(slack_emulator, message, buttons[REVERT]))
    assert revert is not None and revert.outcome is DriftOutcome.REVERT_QUEUED
    again = await handler.handle(click(slack_emulator, message, buttons[REVERT]))
    assert again is not None and again.outcome is DriftOutcome.DUPLICATE

    # What the inbox's forwarder does with the queued request: one run of detect-drift.
    (request,) = {r.event_id: r for r in queued}.values()
    assert request.deployment == "detect-drift/detect-drift"
    parameters = {**request.parameters, "source": DriftSource.model_validate(
        request.parameters["source"])}
    reverted = await run_with_answer(
        detect_drift(**parameters), "apply-account", approved=True
    )
    assert reverted.reverted == RunStatus.COMPLETED.value
    assert not (await detect_drift(source=source, name="slack")).drift


async def test_detect_drift_without_the_account_directory_says_so_and_fails_nothing(
    arize, runbook_policy, tmp_path: Path
):
    report = await detect_drift(source=DriftSource(path=str(tmp_path / "not-yet")), name="none")
    assert not report.configured and not report.drift and not report.reported
