"""Slack interactions while Prefect is down: every kind tells the person, and an access request
waits in the durable inbox until Prefect is back, then starts exactly one run.

The real webhook service (its Prefect API behind a relay that is off until the test turns it
on), the Slack emulator reached through the real slack-sdk, and the Prefect test harness.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

from blocks.slack import slack_web_client
from emulator.slack.commands import view_submission_payload
from emulator.slack.interactions import asend, sign_payload
from flows.access_review.messages import KEEP_ACTION
from flows.time_bound_access.grant import grant_temporary_access
from flows.time_bound_access.notices import REVOKE_ACTION_ID
from tasks.approvals.slack_blocks import APPROVE_ACTION
from tasks.triggers import Trigger
from tests.access.conftest import until
from tests.fixtures.prefect import deploy_as_shipped
from tests.fixtures.webhooks import SLACK_SIGNING_SECRET, WebhookServer, test_settings
from tests.webhooks.backends import TcpProxy, prefect_outage
from webhooks.inbox import Inbox
from webhooks.inbox_records import EventStatus

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-prefect-down-test"
SAM = "U0SAMDOWN"
CHANNEL = "C0000APPROVALS"
#: A pool no worker polls: the grant run is created and stays Scheduled.
POOL = "access-inbox-nobody"
FORM = {
    "email": "sam.down@acme.example",
    "role": "Project Viewer",
    "space": "fraud-detection",
    "project": "payments-risk",
    "hours": "1",
    "reason": "payments incident INC-9",
    "ticket": None,
}


@pytest.fixture
async def outage(prefect_harness: str) -> AsyncIterator[tuple[str, TcpProxy]]:
    """A Prefect API URL that is down until ``proxy.start()``."""
    url, proxy = prefect_outage(prefect_harness)
    yield url, proxy
    await proxy.stop()


@pytest.fixture
def service(
    slack_emulator: Any, outage: tuple[str, TcpProxy], tmp_path: Path
) -> Iterator[WebhookServer]:
    """The webhook service with Slack on (the emulator) and Prefect down."""
    slack_emulator.add_user(SAM, "sam", email=FORM["email"])
    settings = test_settings(
        inbox_url=f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
        prefect_api_url=outage[0],
        slack_bot_token=BOT_TOKEN,
        slack_base_url=slack_emulator.base_url,
        slack_expiry_sweep_seconds=0,
    )
    with WebhookServer(settings) as server:
        yield server


async def _message_with_button(
    slack_emulator: Any, channel: str, action_id: str, value: str
) -> str:
    """Post a message carrying one button through slack-sdk, as the flows do; its ts."""
    posted = await slack_web_client(BOT_TOKEN, slack_emulator.base_url).chat_postMessage(
        channel=channel,
        text="a message with a button",
        blocks=[{
            "type": "actions",
            "block_id": "decide",
            "elements": [{"type": "button", "action_id": action_id, "value": value,
                          "text": {"type": "plain_text", "text": "Click"}}],
        }],
    )  # fmt: skip
    return str(posted["ts"])


def _ephemerals(slack_emulator: Any, user: str) -> list[str]:
    return [e["text"] for e in slack_emulator.messages()["ephemerals"] if e["user"] == user]


def _dms(slack_emulator: Any, user: str) -> list[str]:
    return [
        m["text"] for m in slack_emulator.messages()["messages"]
        if m["channel"] == user or m["channel"].startswith("D")
    ]  # fmt: skip


async def _click(slack_emulator: Any, service: WebhookServer, action_id: str, ts: str,
                 channel: str | None) -> None:
    answer = await slack_emulator.aclick(
        f"{service.base_url}/slack/interactions", signing_secret=SLACK_SIGNING_SECRET,
        user_id=SAM, action_id=action_id, channel=channel, ts=ts,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text  # acknowledged although Prefect is down


async def test_an_approval_click_with_prefect_down_tells_the_approver(slack_emulator, service):
    value = f"{uuid.uuid4()}|restrict-project|{'ab' * 32}"
    ts = await _message_with_button(slack_emulator, CHANNEL, APPROVE_ACTION, value)

    await _click(slack_emulator, service, APPROVE_ACTION, ts, CHANNEL)

    async def told() -> bool:
        return "Something went wrong recording your click; try again." in _ephemerals(
            slack_emulator, SAM
        )

    await until(told, within=60)


async def test_a_review_click_with_prefect_down_tells_the_reviewer(slack_emulator, service):
    value = f"{uuid.uuid4()}|{'0123abcd' * 2}|{'cd' * 32}"
    ts = await _message_with_button(slack_emulator, CHANNEL, KEEP_ACTION, value)

    await _click(slack_emulator, service, KEEP_ACTION, ts, CHANNEL)

    async def told() -> bool:
        return "Something went wrong recording your decision; retry." in _ephemerals(
            slack_emulator, SAM
        )

    await until(told, within=60)


async def test_revoke_now_with_prefect_down_tells_the_person(slack_emulator, service):
    # Old main: the click failed inside the handler and the person heard nothing.
    ts = await _message_with_button(slack_emulator, SAM, REVOKE_ACTION_ID, "grant-123")

    await _click(slack_emulator, service, REVOKE_ACTION_ID, ts, None)

    async def told() -> bool:
        return any(t.startswith("Something went wrong: nothing was revoked.")
                   for t in _dms(slack_emulator, SAM))

    await until(told, within=60)


@pytest.fixture
async def grant_deployment(prefect_harness: str) -> AsyncIterator[None]:
    """The real grant flow deployed on a pool nobody polls; its runs are deleted afterwards."""
    async with get_client() as client:
        await deploy_as_shipped(client, grant_temporary_access, POOL)
        before = {r.id for r in await _grant_runs()}
        yield
        for run in await _grant_runs():
            if run.id not in before:
                await client.delete_flow_run(run.id)


async def _grant_runs() -> list[Any]:
    async with get_client() as client:
        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(
                name=DeploymentFilterName(any_=[grant_temporary_access.name])
            )
        )


async def test_an_access_request_made_while_prefect_is_down_starts_once_it_is_back(
    slack_emulator, service, outage, grant_deployment
):
    _, proxy = outage
    opened = await slack_emulator.aslash_command(
        f"{service.base_url}/slack/commands", signing_secret=SLACK_SIGNING_SECRET,
        command="/arize-access", user_id=SAM,
    )  # fmt: skip
    assert opened.status_code == 200, opened.text
    [view] = [v for v in slack_emulator.views() if v["callback_id"] == "access-request"]

    # One submission, sent twice: Slack resends an interaction it got no answer to in time.
    opened_view = slack_emulator.state.find_view(view_id=view["id"])
    payload = view_submission_payload(slack_emulator.state, opened_view, user_id=SAM, values=FORM)

    async def submit() -> None:
        answer = await asend(f"{service.base_url}/slack/interactions",
                             sign_payload(payload, signing_secret=SLACK_SIGNING_SECRET))
        assert answer.status_code == 200, answer.text

    await submit()

    async def received() -> bool:
        return any(t.startswith("Request received:") for t in _dms(slack_emulator, SAM))

    await until(received, within=60)
    async with Inbox(service.settings.inbox_url) as inbox:

        async def retrying() -> bool:
            event = await inbox.find("slack", f"access-request:{view['id']}")
            return event is not None and event.attempts >= 1 and bool(event.last_error)

        await until(retrying, within=60)
        stored = await inbox.find("slack", f"access-request:{view['id']}")
        assert stored is not None and stored.status is EventStatus.PENDING
        # The stored payload names the request, never the signed trigger.
        assert "trigger" not in stored.payload
        # Slack retried the submission while Prefect was away: one request, not two.
        await submit()

        async def duplicate_told() -> bool:
            return any("received already" in t for t in _dms(slack_emulator, SAM))

        await until(duplicate_told, within=60)
        assert [r for r in await _grant_runs() if _from_view(r, view["id"])] == []

        await proxy.start()  # Prefect is back

        async def forwarded() -> bool:
            event = await inbox.find("slack", f"access-request:{view['id']}")
            return event is not None and event.status is EventStatus.FORWARDED

        await until(forwarded, within=90)
        event = await inbox.find("slack", f"access-request:{view['id']}")

    [run] = [r for r in await _grant_runs() if _from_view(r, view["id"])]
    assert event is not None and event.flow_run_id == str(run.id)
    trigger = Trigger.model_validate(run.parameters["trigger"])
    assert trigger.requested_by == FORM["email"] and trigger.is_verified()
    assert run.parameters["requester_slack_id"] == SAM
    assert run.parameters["spec"]["email"] == FORM["email"]


def _from_view(run: Any, view_id: str) -> bool:
    trigger = run.parameters.get("trigger") or {}
    return trigger.get("event_id") == view_id
