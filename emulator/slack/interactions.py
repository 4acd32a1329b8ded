"""Button clicks as Slack sends them: a signed, form-encoded ``block_actions`` payload.

Slack POSTs ``payload=<url-encoded JSON>`` to the app's interactivity URL with
``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` (HMAC-SHA256 of
``v0:{timestamp}:{raw body}`` under the signing secret). These helpers build exactly that, so
the demo and the tests go through the receiver's real verification path.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Required, TypedDict, Unpack
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from emulator.slack.state import TEAM_ID, Message, SlackState


@dataclass(frozen=True)
class SignedRequest:
    """A request body and the headers Slack would send with it."""

    body: bytes
    headers: dict[str, str]


def block_actions_payload(
    *,
    user_id: str,
    action: dict[str, Any],
    block_id: str,
    channel_id: str,
    message: dict[str, Any] | None = None,
    message_ts: str | None = None,
    user_name: str | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """The JSON Slack puts in ``payload`` when someone clicks a button on a message.

    Args:
        user_id: Who clicked.
        action: The clicked button element (``action_id``, ``value``, ``text``, ``style``).
        block_id: The ``block_id`` of the actions block holding the button.
        channel_id: The channel of the message.
        message: The message object (as ``chat.postMessage`` returned it), if known.
        message_ts: The message ts when ``message`` is not given.
        user_name: The clicker's handle.
        team_id: The workspace id.

    Returns:
        The payload dict.
    """
    ts = message["ts"] if message else message_ts
    now = f"{time.time():.6f}"
    clicked = {
        "type": action.get("type", "button"),
        "action_id": action["action_id"],
        "block_id": block_id,
        "value": action.get("value", ""),
        "action_ts": now,
    }
    if "text" in action:
        clicked["text"] = action["text"]
    if "style" in action:
        clicked["style"] = action["style"]
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": user_name or user_id.lower(),
            "name": user_name or user_id.lower(),
            "team_id": team_id,
        },
        "api_app_id": "A0EMULATED",
        "token": "legacy-verification-token-unused",
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": f"{int(time.time())}.{secrets.token_hex(6)}",
        "team": {"id": team_id, "domain": "emulated"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_id.lower()},
        "state": {"values": {}},
        "response_url": f"https://hooks.slack.test/actions/{team_id}/{secrets.token_hex(8)}",
        "actions": [clicked],
    }
    if message is not None:
        payload["message"] = message
    return payload


def sign_payload(
    payload: dict[str, Any], *, signing_secret: str, timestamp: int | None = None
) -> SignedRequest:
    """Form-encode ``payload`` and sign it the way Slack does.

    Args:
        payload: The interaction payload.
        signing_secret: The app's signing secret.
        timestamp: Unix seconds to sign at; now by default (tests pass old ones for replays).

    Returns:
        The raw body and the Slack headers.
    """
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
    return sign_body(body, signing_secret=signing_secret, timestamp=timestamp)


def sign_body(body: bytes, *, signing_secret: str, timestamp: int | None = None) -> SignedRequest:
    """Sign a form-encoded ``body`` (v0 HMAC-SHA256, via slack_sdk) with Slack's headers.

    Args:
        body: The raw request body.
        signing_secret: The app's signing secret.
        timestamp: Unix seconds to sign at; now by default.

    Returns:
        The body and the Slack headers.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    return SignedRequest(
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or "",
        },
    )


def send(url: str, request: SignedRequest, *, client: httpx.Client | None = None) -> httpx.Response:
    """POST a signed request to the app, as Slack does (sync).

    Args:
        url: The app's endpoint.
        request: The signed body and headers.
        client: An httpx client to send with; a short-lived one by default.
    """
    if client is not None:
        return client.post(url, content=request.body, headers=request.headers)
    with httpx.Client(timeout=10) as owned:
        return owned.post(url, content=request.body, headers=request.headers)


async def asend(
    url: str, request: SignedRequest, *, client: httpx.AsyncClient | None = None
) -> httpx.Response:
    """Async :func:`send`; pass ``client`` to reach an in-process ASGI app."""
    if client is not None:
        return await client.post(url, content=request.body, headers=request.headers)
    async with httpx.AsyncClient(timeout=10) as owned:
        return await owned.post(url, content=request.body, headers=request.headers)


def find_button(message: Message, action_id: str) -> tuple[str, dict[str, Any]]:
    """The ``(block_id, button)`` with ``action_id`` on ``message``.

    Raises:
        LookupError: The message has no such button (e.g. it was already decided).
    """
    for block in message.blocks:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", []):
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return block.get("block_id", ""), element
    raise LookupError(f"message {message.ts} has no {action_id!r} button")


class ClickFields(TypedDict, total=False):
    """The keyword arguments of :func:`build_click`, which :func:`click`, :func:`aclick` and
    the server's methods pass on as they are: one list of them to keep."""

    signing_secret: Required[str]
    user_id: Required[str]
    action_id: str
    channel: str | None
    ts: str | None
    timestamp: int | None


def build_click(
    state: SlackState,
    *,
    signing_secret: str,
    user_id: str,
    action_id: str = "approve",
    channel: str | None = None,
    ts: str | None = None,
    timestamp: int | None = None,
) -> SignedRequest:
    """A signed click on a button of a message the emulator holds.

    Args:
        state: The workspace holding the message.
        signing_secret: The app's signing secret.
        user_id: Who clicks.
        action_id: Which button (``approve`` or ``reject`` for approval messages).
        channel: The message's channel; any channel if omitted.
        ts: The message's ts; the latest top-level message if omitted.
        timestamp: Unix seconds to sign at; now by default.

    Returns:
        The signed request, ready to POST to the interactivity URL.

    Raises:
        LookupError: No such message, or no such button on it.
    """
    message = state.find_message(channel, ts)
    if message is None:
        raise LookupError("no such message")
    block_id, button = find_button(message, action_id)
    user = state.users.get(user_id)
    payload = block_actions_payload(
        user_id=user_id,
        user_name=user.name if user else None,
        action=button,
        block_id=block_id,
        channel_id=message.channel,
        message=message.to_api(),
    )
    # The click's trigger_id and response_url work against the emulator, as Slack's would.
    payload["trigger_id"] = state.issue_trigger(user_id, source="block_actions")
    payload["response_url"] = state.issue_response_url(
        channel=message.channel, user_id=user_id, source="block_actions", message_ts=message.ts
    )
    return sign_payload(payload, signing_secret=signing_secret, timestamp=timestamp)


def click(
    url: str,
    state: SlackState,
    *,
    client: httpx.Client | None = None,
    **fields: Unpack[ClickFields],
) -> httpx.Response:
    """Click a button on a message and POST the signed payload to ``url`` (sync).

    Args:
        url: The app's interactivity URL, e.g. ``http://127.0.0.1:8000/slack/interactions``.
        state: The workspace holding the message.
        client: An httpx client to send with; a short-lived one by default.
        fields: Who clicks which button of which message (see :func:`build_click`).

    Returns:
        The app's response (Slack only looks at the status).
    """
    return send(url, build_click(state, **fields), client=client)


async def aclick(
    url: str,
    state: SlackState,
    *,
    client: httpx.AsyncClient | None = None,
    **fields: Unpack[ClickFields],
) -> httpx.Response:
    """Async twin of :func:`click`; pass ``client`` to reach an in-process ASGI app."""
    return await asend(url, build_click(state, **fields), client=client)
