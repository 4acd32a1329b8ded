"""A request from Slack, end to end: /arize-access → modal → submission → approval → grant →
DM with "Revoke now" → click → revoked. The webhook service, the Slack emulator, the Arize
emulator, the Prefect test harness and a real process worker running the deployments."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

from blocks.slack import SlackApprovals
from flows.time_bound_access.grant import grant_temporary_access
from flows.time_bound_access.revoke_flow import revoke_temporary_access
from tasks.triggers import Trigger
from tests.access.conftest import approve_next, binding_of, until
from tests.fixtures.prefect import deploy_as_shipped, process_worker
from tests.fixtures.webhooks import SLACK_SIGNING_SECRET, WebhookServer, test_settings

pytestmark = pytest.mark.slow

POOL = "access-slack"
BOT_TOKEN = "xoxb-access-requests-test"
SAM, GHOST = "U0SAM", "U0GHOST"
FORM = {
    "email": "sam@acme.example",
    "role": "Project Viewer",
    "space": "fraud-detection",
    "project": "payments-risk",
    "hours": "1",
    "reason": "payments incident INC-7",
    "ticket": None,
}


@pytest.fixture
def service(slack_emulator, prefect_harness, tmp_path: Path) -> Iterator[str]:
    """The webhook service with Slack on (the emulator) and its forwarder; the conftest sets
    its signing key."""
    slack_emulator.add_user(SAM, "sam", email="sam@acme.example")
    slack_emulator.add_user(GHOST, "ghost")  # in Slack, but without an e-mail
    settings = test_settings(
        inbox_url=f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
        prefect_api_url=prefect_harness,
        slack_bot_token=BOT_TOKEN,
        slack_base_url=slack_emulator.base_url,
        # Requests go through the inbox: its forwarder creates the runs.
        slack_expiry_sweep_seconds=0,
    )
    with WebhookServer(settings) as server:
        yield server.base_url


@pytest.fixture
async def slack_policy(runbook_policy, slack_emulator):
    """The runbook policy with Slack on, so flows DM the requester."""
    runbook_policy.slack = SlackApprovals(
        bot_token=BOT_TOKEN, channel="#arize-approvals", base_url=slack_emulator.base_url
    )
    await runbook_policy.asave("default", overwrite=True)
    return runbook_policy


@pytest.fixture
async def worker(prefect_harness, tmp_path: Path) -> AsyncIterator[None]:
    """The grant and revoke deployments on a process pool, and a worker polling it."""
    async with get_client() as client:
        for flow in (grant_temporary_access, revoke_temporary_access):
            await deploy_as_shipped(client, flow, POOL)
    with process_worker(POOL, tmp_path / "worker.log"):
        yield


def dms(slack_emulator, user_id: str) -> list[dict[str, Any]]:
    """Messages the bot sent to ``user_id`` (their DM channel)."""
    return [
        m for m in slack_emulator.messages()["messages"]
        if m["channel"] == user_id or m["channel"].startswith("D")
    ]


async def runs_of(deployment: str) -> list:
    async with get_client() as client:
        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment]))
        )


async def test_slash_command_to_grant_and_revoke_now(
    arize, slack_policy, slack_emulator, service, worker
):
    opened = await slack_emulator.aslash_command(
        f"{service}/slack/commands", signing_secret=SLACK_SIGNING_SECRET,
        command="/arize-access", user_id=SAM,
    )
    assert opened.status_code == 200, opened.text
    [view] = [v for v in slack_emulator.views() if v["callback_id"] == "access-request"]

    submitted = await slack_emulator.asubmit_view(
        f"{service}/slack/interactions", signing_secret=SLACK_SIGNING_SECRET, user_id=SAM,
        values=FORM, view_id=view["id"],
    )
    assert submitted.status_code == 200, submitted.text

    async def started() -> bool:
        return bool(await runs_of("grant-temporary-access"))

    # Through the inbox and the forwarder into Prefect: with the machine's CPU halved the
    # harness's SQLite answers "database is locked" and its clients back off for up to a
    # minute. These bounds only stop a hang.
    await until(started, within=120)
    [run] = await runs_of("grant-temporary-access")
    trigger = Trigger.model_validate(run.parameters["trigger"])
    assert trigger.requested_by == "sam@acme.example" and trigger.is_verified()
    assert run.parameters["requester_slack_id"] == SAM
    assert run.parameters["spec"]["duration"] == "PT1H"

    await approve_next()  # by the policy's approver: Sam may not approve his own access

    async def granted() -> bool:
        return any(m["text"].startswith("Granted:") for m in dms(slack_emulator, SAM))

    await until(granted, within=180)
    [message] = [m for m in dms(slack_emulator, SAM) if m["text"].startswith("Granted:")]
    resource = await _resource(arize)
    assert await binding_of(arize, "sam@acme.example", resource, "PROJECT") is not None

    clicked = await slack_emulator.aclick(
        f"{service}/slack/interactions", signing_secret=SLACK_SIGNING_SECRET, user_id=SAM,
        action_id="access-revoke-now", channel=message["channel"], ts=message["ts"],
    )
    assert clicked.status_code == 200

    async def revoked() -> bool:
        return await binding_of(arize, "sam@acme.example", resource, "PROJECT") is None

    await until(revoked, within=180)

    async def told() -> bool:
        return any("ended (revoked early by sam@acme.example)" in m["text"]
                   for m in dms(slack_emulator, SAM))

    await until(told, within=180)  # after Prefect writes, as above


async def test_requester_unknown_to_slack_is_refused(arize, slack_policy, slack_emulator, service):
    answer = await slack_emulator.aslash_command(
        f"{service}/slack/commands", signing_secret=SLACK_SIGNING_SECRET,
        command="/arize-access", user_id=GHOST,
    )
    assert answer.status_code == 200 and "Refused" in answer.json()["text"]
    assert not [v for v in slack_emulator.views() if v["callback_id"] == "access-request"]


async def test_unsigned_command_is_refused(service):
    import httpx

    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{service}/slack/commands",
            data={"command": "/arize-access", "user_id": SAM, "trigger_id": "t"},
            headers={"x-slack-request-timestamp": "1", "x-slack-signature": "v0=bad"},
        )
    assert answer.status_code == 401


async def test_malformed_form_is_refused_in_a_dm_and_starts_nothing(
    arize, slack_policy, slack_emulator, service
):
    await slack_emulator.aslash_command(
        f"{service}/slack/commands", signing_secret=SLACK_SIGNING_SECRET,
        command="/arize-access", user_id=SAM,
    )
    [view] = [v for v in slack_emulator.views() if v["callback_id"] == "access-request"]
    before = len(await runs_of("grant-temporary-access"))

    await slack_emulator.asubmit_view(
        f"{service}/slack/interactions", signing_secret=SLACK_SIGNING_SECRET, user_id=SAM,
        values={**FORM, "reason": "x"}, view_id=view["id"],
    )

    async def refused() -> bool:
        return any(m["text"].startswith("Refused") for m in dms(slack_emulator, SAM))

    await until(refused, within=30)
    [message] = [m for m in dms(slack_emulator, SAM) if m["text"].startswith("Refused")]
    assert "reason" in message["text"]
    assert len(await runs_of("grant-temporary-access")) == before


@pytest.mark.parametrize("hours", ["nan", "1e12", "inf", "-1", "soon"])
async def test_unreadable_hours_are_refused_in_a_dm_naming_the_field(
    arize, slack_policy, slack_emulator, service, hours
):
    """A signed submission whose "For how long" is not one of the form's numbers."""
    from emulator.slack.commands import view_submission_payload
    from emulator.slack.interactions import asend, sign_payload

    await slack_emulator.aslash_command(
        f"{service}/slack/commands", signing_secret=SLACK_SIGNING_SECRET,
        command="/arize-access", user_id=SAM,
    )
    [opened] = [v for v in slack_emulator.views() if v["callback_id"] == "access-request"]
    view = slack_emulator.state.find_view(view_id=opened["id"])
    payload = view_submission_payload(slack_emulator.state, view, user_id=SAM, values=FORM)
    payload["view"]["state"]["values"]["hours"]["hours"]["selected_option"]["value"] = hours
    before = len(await runs_of("grant-temporary-access"))

    answer = await asend(f"{service}/slack/interactions",
                         sign_payload(payload, signing_secret=SLACK_SIGNING_SECRET))

    assert answer.status_code == 200, answer.text

    async def refused() -> bool:
        return any(m["text"].startswith("Refused") for m in dms(slack_emulator, SAM))

    await until(refused, within=30)
    [message] = [m for m in dms(slack_emulator, SAM) if m["text"].startswith("Refused")]
    assert "hours" in message["text"] and "choose one of the form's durations" in message["text"]
    assert len(await runs_of("grant-temporary-access")) == before


async def _resource(arize) -> str:
    from arize_admin import AsyncArizeAdmin

    async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
        space = await client.spaces.find_by_name("fraud-detection")
        return (await client.projects.find_by_name("payments-risk", space_id=space.id)).id
