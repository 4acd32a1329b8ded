"""Slash commands, modals, response URLs, DMs, channels and scopes on the Slack emulator.

The "app" here is a small FastAPI service on loopback that verifies Slack's signature and
talks back to the emulator through the real slack_sdk clients, so every request crosses HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

from emulator.slack import SlackEmulatorServer, build_click, build_slash_command, state_values
from emulator.threaded_server import ThreadedServer
from tests.fixtures.slack import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET

MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "access-request",
    "private_metadata": "run=abc",
    "title": {"type": "plain_text", "text": "Request access"},
    "submit": {"type": "plain_text", "text": "Request"},
    "blocks": [
        {
            "type": "input",
            "block_id": "space",
            "label": {"type": "plain_text", "text": "Space"},
            "element": {
                "type": "static_select",
                "action_id": "space_id",
                "options": [
                    {"text": {"type": "plain_text", "text": "Fraud"}, "value": "sp-fraud"},
                    {"text": {"type": "plain_text", "text": "Search"}, "value": "sp-search"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "days",
            "label": {"type": "plain_text", "text": "For how many days"},
            "element": {"type": "plain_text_input", "action_id": "days"},
        },
        {
            "type": "input",
            "block_id": "approver",
            "optional": True,
            "label": {"type": "plain_text", "text": "Approver"},
            "element": {"type": "users_select", "action_id": "approver"},
        },
    ],
}


class CommandApp:
    """A Slack app: `/access` opens the modal; a submission with days > 30 is refused."""

    def __init__(self, slack_api: str) -> None:
        self.received: list[dict[str, Any]] = []
        self.verifier = SignatureVerifier(SLACK_SIGNING_SECRET)
        self.app = FastAPI()
        self.slack = WebClient(token=SLACK_BOT_TOKEN, base_url=slack_api)

        @self.app.post("/slack/commands")
        async def command(request: Request) -> Response:
            body = await request.body()
            if not self.verifier.is_valid_request(body, dict(request.headers)):
                return Response(status_code=401)
            form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
            self.received.append(form)
            self.slack.views_open(trigger_id=form["trigger_id"], view=MODAL)
            return Response(status_code=200)

        @self.app.post("/slack/interactions")
        async def interactions(request: Request) -> Response:
            body = await request.body()
            if not self.verifier.is_valid_request(body, dict(request.headers)):
                return Response(status_code=401)
            payload = json.loads(parse_qs(body.decode())["payload"][0])
            self.received.append(payload)
            days = payload["view"]["state"]["values"]["days"]["days"]["value"]
            if int(days) > 30:
                return JSONResponse(
                    {"response_action": "errors", "errors": {"days": "30 days at most"}}
                )
            return Response(status_code=200)


@pytest.fixture
def command_app(slack_emulator: SlackEmulatorServer) -> Iterator[tuple[CommandApp, str]]:
    app = CommandApp(slack_emulator.base_url)
    server = ThreadedServer(app.app, name="command-app", lifespan="off").start()
    try:
        yield app, server.url
    finally:
        server.stop()


@pytest.fixture
def alice(slack_emulator: SlackEmulatorServer) -> str:
    slack_emulator.add_user("U0ALICE", "alice", "alice@acme.example")
    return "U0ALICE"


def test_slash_command_is_a_signed_form_with_live_trigger_and_response_url(
    slack_emulator: SlackEmulatorServer, alice: str
) -> None:
    request = build_slash_command(
        slack_emulator.state,
        signing_secret=SLACK_SIGNING_SECRET,
        command="/access",
        text="fraud 7d",
        user_id=alice,
        channel_id="C0HELPDESK",
    )
    assert SignatureVerifier(SLACK_SIGNING_SECRET).is_valid_request(request.body, request.headers)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    assert {k: form[k] for k in ("command", "text", "user_id", "user_name", "channel_id")} == {
        "command": "/access",
        "text": "fraud 7d",
        "user_id": "U0ALICE",
        "user_name": "alice",
        "channel_id": "C0HELPDESK",
    }
    assert form["team_id"].startswith("T")
    assert slack_emulator.state.triggers[form["trigger_id"]].source == "slash_command"
    assert form["response_url"].startswith(f"{slack_emulator.url}/_slack/responses/")


def test_command_opens_modal_and_submission_errors_then_closes(
    slack_emulator: SlackEmulatorServer, command_app: tuple[CommandApp, str], alice: str
) -> None:
    app, url = command_app
    response = slack_emulator.slash_command(
        f"{url}/slack/commands",
        signing_secret=SLACK_SIGNING_SECRET,
        command="/access",
        user_id=alice,
    )
    assert response.status_code == 200
    (view,) = slack_emulator.views()
    assert (view["user_id"], view["callback_id"], view["status"]) == (
        alice,
        "access-request",
        "open",
    )
    with httpx.Client(base_url=slack_emulator.url) as http:
        assert http.get("/_slack/views").json()["views"][0]["id"] == view["id"]

    refused = slack_emulator.submit_view(
        f"{url}/slack/interactions",
        signing_secret=SLACK_SIGNING_SECRET,
        user_id=alice,
        values={"space_id": "sp-fraud", "days": "90"},
    )
    assert refused.status_code == 200
    submitted = app.received[-1]
    assert submitted["type"] == "view_submission"
    assert submitted["view"]["id"] == view["id"]
    assert submitted["view"]["private_metadata"] == "run=abc"
    values = submitted["view"]["state"]["values"]
    assert values["space"]["space_id"]["selected_option"]["value"] == "sp-fraud"
    assert values["space"]["space_id"]["selected_option"]["text"]["text"] == "Fraud"
    assert values["approver"]["approver"] == {"type": "users_select", "selected_user": None}
    (still_open,) = slack_emulator.views()
    assert still_open["status"] == "open"
    assert still_open["errors"] == {"days": "30 days at most"}

    slack_emulator.submit_view(
        f"{url}/slack/interactions",
        signing_secret=SLACK_SIGNING_SECRET,
        user_id=alice,
        values={"space_id": "sp-search", "days": "7", "approver": "U0BOB"},
    )
    assert (
        app.received[-1]["view"]["state"]["values"]["approver"]["approver"]["selected_user"]
        == "U0BOB"
    )
    assert slack_emulator.views()[0]["status"] == "closed"
    with pytest.raises(LookupError):
        slack_emulator.submit_view(
            f"{url}/slack/interactions",
            signing_secret=SLACK_SIGNING_SECRET,
            user_id=alice,
            values={"space_id": "sp-fraud", "days": "1"},
        )


async def test_trigger_ids_expire_and_are_used_once(slack_emulator: SlackEmulatorServer) -> None:
    client = AsyncWebClient(token=SLACK_BOT_TOKEN, base_url=slack_emulator.base_url)
    late = slack_emulator.state.issue_trigger("U0ALICE", source="slash_command")
    slack_emulator.state.advance_clock(3.5)
    with pytest.raises(SlackApiError) as expired:
        await client.views_open(trigger_id=late, view=MODAL)
    assert expired.value.response["error"] == "expired_trigger_id"

    fresh = slack_emulator.state.issue_trigger("U0ALICE", source="slash_command")
    assert (await client.views_open(trigger_id=fresh, view=MODAL))["view"]["id"].startswith("V")
    with pytest.raises(SlackApiError) as reused:
        await client.views_open(trigger_id=fresh, view=MODAL)
    assert reused.value.response["error"] == "exchanged_trigger_id"
    with pytest.raises(SlackApiError) as unknown:
        await client.views_open(trigger_id="1.2.nope", view=MODAL)
    assert unknown.value.response["error"] == "invalid_trigger_id"

    async with httpx.AsyncClient(base_url=slack_emulator.url) as http:
        issued = (await http.post("/_slack/triggers", json={"user_id": "U0ALICE"})).json()
        assert (await http.post("/_slack/triggers/expire")).json()["expired"] >= 1
    with pytest.raises(SlackApiError) as expired_by_control:
        await client.views_open(trigger_id=issued["trigger_id"], view=MODAL)
    assert expired_by_control.value.response["error"] == "expired_trigger_id"


async def test_views_update_checks_hash_and_push_stacks_three(
    slack_emulator: SlackEmulatorServer,
) -> None:
    client = AsyncWebClient(token=SLACK_BOT_TOKEN, base_url=slack_emulator.base_url)
    state = slack_emulator.state
    opened = (
        await client.views_open(
            trigger_id=state.issue_trigger("U0ALICE", source="slash_command"), view=MODAL
        )
    )["view"]
    renamed = {**MODAL, "title": {"type": "plain_text", "text": "Renamed"}}
    updated = (await client.views_update(view_id=opened["id"], hash=opened["hash"], view=renamed))[
        "view"
    ]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert updated["title"]["text"] == "Renamed"
    with pytest.raises(SlackApiError) as stale:
        await client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)
    assert stale.value.response["error"] == "hash_conflict"

    below = opened["id"]
    for _ in range(2):
        trigger = state.issue_trigger("U0ALICE", source="block_actions", view_id=below)
        pushed = (await client.views_push(trigger_id=trigger, view=MODAL))["view"]
        assert pushed["previous_view_id"] == below and pushed["root_view_id"] == opened["id"]
        below = pushed["id"]
    trigger = state.issue_trigger("U0ALICE", source="block_actions", view_id=below)
    with pytest.raises(SlackApiError) as full:
        await client.views_push(trigger_id=trigger, view=MODAL)
    assert full.value.response["error"] == "push_limit_reached"


async def test_invalid_modal_names_the_field(slack_emulator: SlackEmulatorServer) -> None:
    client = AsyncWebClient(token=SLACK_BOT_TOKEN, base_url=slack_emulator.base_url)
    trigger = slack_emulator.state.issue_trigger("U0ALICE", source="slash_command")
    bad = {**MODAL, "title": {"type": "plain_text", "text": "x" * 25}}
    bad.pop("submit")
    with pytest.raises(SlackApiError) as info:
        await client.views_open(trigger_id=trigger, view=bad)
    assert info.value.response["error"] == "invalid_arguments"
    messages = " ".join(info.value.response["response_metadata"]["messages"])
    assert "/view/title" in messages and "/view/submit" in messages
    assert not slack_emulator.views()


def test_submission_values_must_fit_the_modal(slack_emulator: SlackEmulatorServer) -> None:
    trigger = slack_emulator.state.issue_trigger("U0ALICE", source="slash_command")
    view = slack_emulator.state.open_view(trigger, MODAL)
    with pytest.raises(ValueError, match="no input with action_id"):
        state_values(view, {"space_id": "sp-fraud", "days": "1", "color": "red"})
    with pytest.raises(ValueError, match=r"'days'.*required"):
        state_values(view, {"space_id": "sp-fraud"})
    with pytest.raises(ValueError, match="sp-fraud"):
        state_values(view, {"space_id": "sp-nope", "days": "1"})


def test_response_url_answers_later_five_times_within_thirty_minutes(
    slack_emulator: SlackEmulatorServer, alice: str
) -> None:
    request = build_slash_command(
        slack_emulator.state,
        signing_secret=SLACK_SIGNING_SECRET,
        command="/access",
        user_id=alice,
        channel_id="C0HELPDESK",
    )
    url = parse_qs(request.body.decode())["response_url"][0]
    webhook = WebhookClient(url)
    assert webhook.send(text="working on it").status_code == 200
    assert webhook.send(text="granted", response_type="in_channel").body == "ok"
    for n in range(3):
        assert webhook.send(text=f"update {n}").status_code == 200
    used = webhook.send(text="one too many")
    assert (used.status_code, used.body) == (404, "used_url")

    (record,) = slack_emulator.responses()
    assert [p["text"] for p in record["posts"]][:2] == ["working on it", "granted"]
    snapshot = slack_emulator.messages()
    assert [m["text"] for m in snapshot["messages"]] == ["granted"]
    assert snapshot["ephemerals"][0] == {
        **snapshot["ephemerals"][0],
        "user": alice,
        "channel": "C0HELPDESK",
        "text": "working on it",
    }

    late = parse_qs(
        build_slash_command(
            slack_emulator.state,
            signing_secret=SLACK_SIGNING_SECRET,
            command="/access",
            user_id=alice,
        ).body.decode()
    )["response_url"][0]
    slack_emulator.state.advance_clock(31 * 60)
    expired = WebhookClient(late).send(text="too late")
    assert (expired.status_code, expired.body) == (404, "expired_url")
    assert (
        WebhookClient(f"{slack_emulator.url}/_slack/responses/nope").send(text="x").status_code
        == 404
    )


def test_click_response_url_replaces_the_original(
    slack_emulator: SlackEmulatorServer, alice: str
) -> None:
    buttons = [
        {
            "type": "actions",
            "block_id": "b",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "value": "v",
                    "text": {"type": "plain_text", "text": "Approve"},
                },
            ],
        }
    ]
    posted = slack_emulator.state.post_message(channel="#approvals", text="ok?", blocks=buttons)
    payload = json.loads(
        parse_qs(
            build_click(
                slack_emulator.state, signing_secret=SLACK_SIGNING_SECRET, user_id=alice
            ).body.decode()
        )["payload"][0]
    )
    answer = WebhookClient(payload["response_url"]).send(text="Approved", replace_original=True)
    assert answer.status_code == 200
    (message,) = slack_emulator.messages()["messages"]
    assert (message["ts"], message["text"], message["blocks"]) == (posted.ts, "Approved", [])


async def test_direct_messages_to_a_user(slack_emulator: SlackEmulatorServer, alice: str) -> None:
    client = AsyncWebClient(token=SLACK_BOT_TOKEN, base_url=slack_emulator.base_url)
    opened = await client.conversations_open(users=alice)
    dm = opened["channel"]["id"]
    assert dm.startswith("D")
    posted = await client.chat_postMessage(channel=alice, text="your access expires tomorrow")
    assert posted["channel"] == dm
    assert slack_emulator.messages()["messages"][0]["channel"] == dm
    info = await client.conversations_info(channel=dm)
    assert info["channel"]["is_im"] is True and info["channel"]["user"] == alice
    with pytest.raises(SlackApiError) as nobody:
        await client.chat_postMessage(channel="U0NOBODY", text="hi")
    assert nobody.value.response["error"] == "user_not_found"


async def test_channels_membership_and_paginated_list(
    slack_emulator: SlackEmulatorServer,
) -> None:
    client = AsyncWebClient(token=SLACK_BOT_TOKEN, base_url=slack_emulator.base_url)
    joined = slack_emulator.add_channel("arize-approvals")
    outside = slack_emulator.add_channel("general", is_member=False)
    secret = slack_emulator.add_channel("secret", is_private=True)
    for n in range(5):
        slack_emulator.add_channel(f"team-{n}")
    info = await client.conversations_info(channel=outside.id)
    assert (info["channel"]["name"], info["channel"]["is_member"]) == ("general", False)
    assert (await client.conversations_info(channel=joined.id))["channel"]["is_member"] is True
    with pytest.raises(SlackApiError) as not_in:
        await client.chat_postMessage(channel=outside.id, text="hello")
    assert not_in.value.response["error"] == "not_in_channel"
    with pytest.raises(SlackApiError) as unknown:
        await client.conversations_info(channel="C0UNKNOWN")
    assert unknown.value.response["error"] == "channel_not_found"

    names: list[str] = []
    pages = 0
    async for page in await client.conversations_list(limit=3):
        pages += 1
        names.extend(c["name"] for c in page["channels"])
    assert pages == 3
    assert sorted(names) == sorted(["arize-approvals", "general"] + [f"team-{n}" for n in range(5)])
    private = await client.conversations_list(types="private_channel")
    assert [c["id"] for c in private["channels"]] == [secret.id]


def test_scopes_header_and_missing_scope(slack_emulator: SlackEmulatorServer) -> None:
    client = WebClient(token=SLACK_BOT_TOKEN, base_url=slack_emulator.base_url)
    granted = client.auth_test().headers["x-oauth-scopes"].split(",")
    assert {"chat:write", "commands", "usergroups:read"} <= set(granted)
    with httpx.Client(base_url=slack_emulator.url) as http:
        http.post("/_slack/scopes", json={"scopes": ["chat:write"]}).raise_for_status()
    assert client.auth_test().headers["x-oauth-scopes"] == "chat:write"
    with pytest.raises(SlackApiError) as info:
        client.usergroups_list()
    assert info.value.response["error"] == "missing_scope"
    assert info.value.response["needed"] == "usergroups:read"
    assert info.value.response["provided"] == "chat:write"
    slack_emulator.reset()
    assert "usergroups:read" in client.auth_test().headers["x-oauth-scopes"]
