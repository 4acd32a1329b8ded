"""The Slack emulator through the real slack_sdk clients, its control plane and its click helper."""

from __future__ import annotations

import inspect
import json
import time
from typing import Required, get_origin, get_type_hints
from urllib.parse import parse_qs

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from blocks.slack import slack_web_client
from emulator.slack import SlackEmulatorServer, build_click, commands, interactions
from tests.fixtures.slack import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET

BUTTONS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Delete it?"}},
    {
        "type": "actions",
        "block_id": "approval:abc:v1",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "value": "run|gate|hash",
                "text": {"type": "plain_text", "text": "Approve"},
            },
            {
                "type": "button",
                "action_id": "reject",
                "value": "run|gate|hash",
                "text": {"type": "plain_text", "text": "Reject"},
            },
        ],
    },
]


@pytest.fixture
def client(slack_emulator: SlackEmulatorServer) -> AsyncWebClient:
    return slack_web_client(SLACK_BOT_TOKEN, slack_emulator.base_url)


@pytest.fixture
def people(slack_emulator: SlackEmulatorServer) -> None:
    slack_emulator.add_user("U0ALICE", "alice", "alice@acme.example")
    slack_emulator.add_user("U0BOB", "bob", "bob@acme.example", deleted=True)
    slack_emulator.add_usergroup("S0APPROVERS", "arize-approvers", ["U0ALICE", "U0BOB"])


def test_base_url_ends_in_api(slack_emulator: SlackEmulatorServer) -> None:
    assert slack_emulator.base_url.startswith("http://127.0.0.1:")
    assert slack_emulator.base_url.endswith("/api/")


async def test_auth_test(client: AsyncWebClient) -> None:
    response = await client.auth_test()
    assert response["ok"] is True
    assert response["user_id"].startswith("U")


async def test_missing_and_malformed_tokens(slack_emulator: SlackEmulatorServer) -> None:
    with pytest.raises(SlackApiError) as info:
        await AsyncWebClient(token="not-a-token", base_url=slack_emulator.base_url).auth_test()
    assert info.value.response["error"] == "invalid_auth"
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{slack_emulator.base_url}auth.test")
    assert response.json() == {"ok": False, "error": "not_authed"}


async def test_post_update_and_read_back(
    client: AsyncWebClient, slack_emulator: SlackEmulatorServer
) -> None:
    posted = await client.chat_postMessage(channel="#approvals", text="Delete it?", blocks=BUTTONS)
    assert posted["channel"].startswith("C")
    updated = await client.chat_update(
        channel=posted["channel"], ts=posted["ts"], text="Approved", blocks=BUTTONS[:1]
    )
    assert updated["ts"] == posted["ts"]
    reply = await client.chat_postMessage(
        channel=posted["channel"], thread_ts=posted["ts"], text="done"
    )
    assert reply["ts"] != posted["ts"]
    async with httpx.AsyncClient() as http:
        snapshot = (await http.get(f"{slack_emulator.url}/_slack/messages")).json()
    first, second = snapshot["messages"]
    assert first["text"] == "Approved"
    assert first["blocks"] == BUTTONS[:1]
    assert "edited" in first
    assert second["thread_ts"] == posted["ts"]


async def test_update_of_unknown_message_fails(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="#approvals", text="x")
    with pytest.raises(SlackApiError) as info:
        await client.chat_update(channel=posted["channel"], ts="1.000000", text="y")
    assert info.value.response["error"] == "message_not_found"


async def test_duplicate_block_ids_are_invalid(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="#a", text="x", blocks=[BUTTONS[1], BUTTONS[1]])
    assert info.value.response["error"] == "invalid_blocks"


async def test_ephemeral_users_and_groups(
    client: AsyncWebClient, slack_emulator: SlackEmulatorServer, people: None
) -> None:
    members = await client.usergroups_users_list(usergroup="S0APPROVERS")
    assert members["users"] == ["U0ALICE"]  # deleted members are left out
    groups = await client.usergroups_list()
    assert [g["handle"] for g in groups["usergroups"]] == ["arize-approvers"]
    info = await client.users_info(user="U0ALICE")
    assert info["user"]["profile"]["email"] == "alice@acme.example"
    await client.chat_postEphemeral(channel="C0000001", user="U0ALICE", text="only you")
    assert slack_emulator.messages()["ephemerals"][0]["text"] == "only you"
    with pytest.raises(SlackApiError) as info_error:
        await client.users_info(user="U0NOBODY")
    assert info_error.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as group_error:
        await client.usergroups_users_list(usergroup="S0NOPE")
    assert group_error.value.response["error"] == "no_such_subteam"


def test_sync_client_form_bodies(slack_emulator: SlackEmulatorServer, people: None) -> None:
    client = WebClient(token=SLACK_BOT_TOKEN, base_url=slack_emulator.base_url)
    assert client.users_info(user="U0ALICE")["user"]["name"] == "alice"
    assert client.usergroups_users_list(usergroup="S0APPROVERS")["users"] == ["U0ALICE"]
    assert client.chat_postMessage(channel="#a", text="hi", blocks=BUTTONS)["ok"]


async def test_429_with_retry_after_is_retried_by_the_handler(
    client: AsyncWebClient, slack_emulator: SlackEmulatorServer
) -> None:
    async with httpx.AsyncClient() as http:
        await http.post(
            f"{slack_emulator.url}/_slack/rate_limit", json={"count": 2, "retry_after": 0}
        )
    response = await client.chat_postMessage(channel="#a", text="after the limit")
    assert response["ok"] is True
    assert slack_emulator.state.calls["chat.postMessage"] == 3
    assert len(slack_emulator.messages()["messages"]) == 1


async def test_429_without_retry_handler_surfaces(slack_emulator: SlackEmulatorServer) -> None:
    slack_emulator.state.set_rate_limit(1, 7)
    bare = AsyncWebClient(token=SLACK_BOT_TOKEN, base_url=slack_emulator.base_url)
    with pytest.raises(SlackApiError) as info:
        await bare.auth_test()
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "7"
    assert info.value.response["error"] == "ratelimited"


def test_control_plane_seeds_and_resets(slack_emulator: SlackEmulatorServer) -> None:
    with httpx.Client(base_url=slack_emulator.url) as http:
        http.post(
            "/_slack/users", json=[{"id": "U0SEED", "name": "seed", "email": "s@acme.example"}]
        ).raise_for_status()
        http.post(
            "/_slack/usergroups", json=[{"id": "S0SEED", "handle": "seeds", "users": ["U0SEED"]}]
        ).raise_for_status()
        client = WebClient(token=SLACK_BOT_TOKEN, base_url=slack_emulator.base_url)
        assert client.usergroups_users_list(usergroup="S0SEED")["users"] == ["U0SEED"]
        assert http.get("/_slack/requests").json()["by_method"]["usergroups.users.list"] == 1
        http.post("/_slack/reset").raise_for_status()
        assert http.get("/_slack/messages").json() == {"messages": [], "ephemerals": []}
    with pytest.raises(SlackApiError):
        client.users_info(user="U0SEED")


async def test_click_is_signed_form_encoded_block_actions(
    client: AsyncWebClient, slack_emulator: SlackEmulatorServer, people: None
) -> None:
    posted = await client.chat_postMessage(channel="#approvals", text="Delete?", blocks=BUTTONS)
    request = build_click(
        slack_emulator.state,
        signing_secret=SLACK_SIGNING_SECRET,
        user_id="U0ALICE",
        action_id="reject",
    )
    verifier = SignatureVerifier(SLACK_SIGNING_SECRET)
    assert verifier.is_valid_request(request.body, request.headers)
    assert abs(int(request.headers["X-Slack-Request-Timestamp"]) - time.time()) < 5
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    payload = json.loads(parse_qs(request.body.decode())["payload"][0])
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == "U0ALICE"
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": posted["channel"],
        "is_ephemeral": False,
    }
    (action,) = payload["actions"]
    assert (action["action_id"], action["value"], action["block_id"]) == (
        "reject",
        "run|gate|hash",
        "approval:abc:v1",
    )
    assert payload["message"]["ts"] == posted["ts"]
    assert payload["response_url"].startswith(f"{slack_emulator.url}/_slack/responses/")
    assert payload["trigger_id"] in slack_emulator.state.triggers


async def test_click_needs_the_button(
    client: AsyncWebClient, slack_emulator: SlackEmulatorServer
) -> None:
    await client.chat_postMessage(channel="#approvals", text="no buttons", blocks=BUTTONS[:1])
    with pytest.raises(LookupError):
        build_click(slack_emulator.state, signing_secret="s", user_id="U0ALICE")


def test_click_posts_to_the_interactivity_url(slack_emulator: SlackEmulatorServer) -> None:
    slack_emulator.state.post_message(channel="#a", text="x", blocks=BUTTONS)
    seen: list[httpx.Request] = []

    def app(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(app)) as http:
        response = slack_emulator.click(
            "http://service.test/slack/interactions",
            signing_secret=SLACK_SIGNING_SECRET,
            user_id="U0ALICE",
            client=http,
        )
    assert response.status_code == 200
    (request,) = seen
    assert SignatureVerifier(SLACK_SIGNING_SECRET).is_valid_request(
        request.content, dict(request.headers)
    )


@pytest.mark.parametrize(
    ("fields", "builder"),
    [
        ("ClickFields", "build_click"),
        ("SlashCommandFields", "build_slash_command"),
        ("ViewSubmissionFields", "build_view_submission"),
    ],
)
def test_each_senders_fields_are_its_builders_keywords(fields: str, builder: str) -> None:
    """The senders pass ``**fields`` to the builder: the TypedDict that types them must name
    exactly the builder's keywords, and require exactly those without a default."""
    typed = getattr(commands, fields, None) or getattr(interactions, fields)
    build = getattr(commands, builder, None) or getattr(interactions, builder)
    keywords = {
        name: p for name, p in inspect.signature(build).parameters.items() if name != "state"
    }
    # The modules postpone annotations, so ask for them evaluated, Required included.
    hints = get_type_hints(typed, include_extras=True)
    assert set(hints) == set(keywords)
    required = {name for name, p in keywords.items() if p.default is inspect.Parameter.empty}
    assert {name for name, hint in hints.items() if get_origin(hint) is Required} == required
