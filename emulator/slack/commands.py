"""Slash commands and modal submissions as Slack sends them to the app, signed.

A slash command is a form-encoded POST (``command``, ``text``, ``user_id``, ``trigger_id``,
``response_url``…) to the command's request URL; a ``view_submission`` is a ``payload=`` POST
to the interactivity URL when someone presses a modal's submit button. Both carry a trigger id
and (for commands) a response URL the emulator hosts, so the app's answers land in the
emulator where tests read them.
"""

from __future__ import annotations

import json
from typing import Any, Required, TypedDict, Unpack
from urllib.parse import urlencode

import httpx

from emulator.slack.interactions import SignedRequest, asend, send, sign_body, sign_payload
from emulator.slack.state import BOT_ID, TEAM_ID, SlackState
from emulator.slack.views import APP_ID, INPUT_VALUE_KEYS, View, input_elements

# What a test passes per input: a string (text, date, one user/channel/option value) or a
# list of them (multi-selects, checkboxes); None leaves an optional input empty.
InputValue = str | list[str] | None


class SlashCommandFields(TypedDict, total=False):
    """The keyword arguments of :func:`build_slash_command`, which :func:`slash_command`,
    :func:`aslash_command` and the server's methods pass on as they are."""

    signing_secret: Required[str]
    command: Required[str]
    text: str
    user_id: Required[str]
    channel_id: str
    channel_name: str | None
    team_id: str
    timestamp: int | None


class ViewSubmissionFields(TypedDict, total=False):
    """The keyword arguments of :func:`build_view_submission`, which :func:`submit_view`,
    :func:`asubmit_view` and the server's methods pass on as they are."""

    signing_secret: Required[str]
    user_id: Required[str]
    values: Required[dict[str, InputValue]]
    view_id: str | None
    callback_id: str | None
    timestamp: int | None


def build_slash_command(
    state: SlackState,
    *,
    signing_secret: str,
    command: str,
    text: str = "",
    user_id: str,
    channel_id: str = "C0000APPROVALS",
    channel_name: str | None = None,
    team_id: str = TEAM_ID,
    timestamp: int | None = None,
) -> SignedRequest:
    """A signed slash command by ``user_id`` in ``channel_id``, with a fresh trigger id.

    Args:
        state: The workspace; it mints the trigger id and hosts the response URL.
        signing_secret: The app's signing secret.
        command: The command with its slash, e.g. ``/arize``.
        text: Everything the user typed after the command.
        user_id: Who ran it.
        channel_id: Where it was run.
        channel_name: The channel's name; looked up (or derived) when omitted.
        team_id: The workspace id.
        timestamp: Unix seconds to sign at; now by default (old ones test replay refusal).

    Returns:
        The signed form body and headers, ready to POST to the command's request URL.
    """
    user = state.users.get(user_id)
    known = state.conversations.get(channel_id)
    form = {
        "token": "legacy-verification-token-unused",
        "team_id": team_id,
        "team_domain": "emulated",
        "channel_id": channel_id,
        "channel_name": channel_name or (known.name if known else channel_id.lower()),
        "user_id": user_id,
        "user_name": user.name if user else user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": state.issue_response_url(
            channel=channel_id, user_id=user_id, source="slash_command"
        ),
        "trigger_id": state.issue_trigger(user_id, source="slash_command"),
    }
    return sign_body(urlencode(form).encode(), signing_secret=signing_secret, timestamp=timestamp)


def slash_command(
    url: str,
    state: SlackState,
    *,
    client: httpx.Client | None = None,
    **fields: Unpack[SlashCommandFields],
) -> httpx.Response:
    """Run a slash command: POST it, signed, to the app's ``url`` and return its answer (sync).

    The app's immediate answer is the response body (Slack shows it to the user); later
    answers go to the response URL, which ``state.responses_snapshot()`` records.
    """
    return send(url, build_slash_command(state, **fields), client=client)


async def aslash_command(
    url: str,
    state: SlackState,
    *,
    client: httpx.AsyncClient | None = None,
    **fields: Unpack[SlashCommandFields],
) -> httpx.Response:
    """Async :func:`slash_command`; pass ``client`` to reach an in-process ASGI app."""
    return await asend(url, build_slash_command(state, **fields), client=client)


def state_values(view: View, values: dict[str, InputValue]) -> dict[str, dict[str, Any]]:
    """``view.state.values`` for a submission, from plain values keyed by ``action_id``.

    Each value is put under the key Slack uses for the element's type (``value``,
    ``selected_option``, ``selected_user``…); options are copied from the element so the
    payload carries their text as Slack's does.

    Raises:
        ValueError: An ``action_id`` the view has no input for, a required input left empty,
            or an option value the element does not offer (naming the input and the choices).
    """
    elements = input_elements(view.body)
    unknown = sorted(set(values) - set(elements))
    if unknown:
        raise ValueError(
            f"view {view.id} ({view.callback_id!r}) has no input with action_id {unknown}; "
            f"its inputs are {sorted(elements)}"
        )
    state: dict[str, dict[str, Any]] = {}
    for action_id, (block_id, element, optional) in elements.items():
        kind = element["type"]
        value = values.get(action_id)
        if value in (None, "", []) and not optional:
            raise ValueError(
                f"input {action_id!r} (block {block_id!r}) is required: pass values[{action_id!r}]"
            )
        key = INPUT_VALUE_KEYS[kind]
        entry: dict[str, Any] = {"type": kind}
        if key in {"selected_option", "selected_options"}:
            chosen = [value] if isinstance(value, str) else list(value or [])
            options = [_option(element, action_id, v) for v in chosen]
            entry[key] = options if key == "selected_options" else (options[0] if options else None)
        elif key.endswith("s"):
            entry[key] = [value] if isinstance(value, str) else list(value or [])
        else:
            entry[key] = value if value not in ("", []) else None
        state.setdefault(block_id, {})[action_id] = entry
    return state


def view_submission_payload(
    state: SlackState,
    view: View,
    *,
    user_id: str,
    values: dict[str, InputValue],
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """The JSON Slack puts in ``payload`` when ``user_id`` presses submit on ``view``."""
    user = state.users.get(user_id)
    body = view.to_api(team_id, BOT_ID)
    body["state"] = {"values": state_values(view, values)}
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "emulated"},
        "user": {
            "id": user_id,
            "username": user.name if user else user_id.lower(),
            "name": user.name if user else user_id.lower(),
            "team_id": team_id,
        },
        "api_app_id": APP_ID,
        "token": "legacy-verification-token-unused",
        "trigger_id": state.issue_trigger(user_id, source="view_submission", view_id=view.id),
        "view": body,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def build_view_submission(
    state: SlackState,
    *,
    signing_secret: str,
    user_id: str,
    values: dict[str, InputValue],
    view_id: str | None = None,
    callback_id: str | None = None,
    timestamp: int | None = None,
) -> tuple[View, SignedRequest]:
    """A signed ``view_submission`` of the latest open modal of ``user_id`` (or the one named).

    Raises:
        LookupError: No open modal matches (never opened, or already closed).
        ValueError: ``values`` do not fit the modal's inputs (see :func:`state_values`).
    """
    view = state.find_view(view_id=view_id, callback_id=callback_id, user_id=user_id)
    if view is None:
        raise LookupError(
            f"no open modal for {user_id} (view_id={view_id!r}, callback_id={callback_id!r}); "
            "open one with views.open first"
        )
    payload = view_submission_payload(state, view, user_id=user_id, values=values)
    return view, sign_payload(payload, signing_secret=signing_secret, timestamp=timestamp)


def submit_view(
    url: str,
    state: SlackState,
    *,
    client: httpx.Client | None = None,
    **fields: Unpack[ViewSubmissionFields],
) -> httpx.Response:
    """Press submit on a modal: POST the signed ``view_submission`` to ``url`` (sync).

    Slack then acts on the app's answer (close, ``errors``, ``update``, ``push``,
    ``clear``), and so does the emulator: read it back with ``state.find_view`` or
    ``GET /_slack/views``.
    """
    view, request = build_view_submission(state, **fields)
    return _applied(state, view, send(url, request, client=client))


async def asubmit_view(
    url: str,
    state: SlackState,
    *,
    client: httpx.AsyncClient | None = None,
    **fields: Unpack[ViewSubmissionFields],
) -> httpx.Response:
    """Async :func:`submit_view`; pass ``client`` to reach an in-process ASGI app."""
    view, request = build_view_submission(state, **fields)
    return _applied(state, view, await asend(url, request, client=client))


def _applied(state: SlackState, view: View, response: httpx.Response) -> httpx.Response:
    """What Slack does with the app's answer to a submission, done to the emulated modal."""
    state.apply_view_response(view.id, response.status_code, _json_body(response))
    return response


def _option(element: dict[str, Any], action_id: str, value: str) -> dict[str, Any]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options.extend(group.get("options", []))
    if element["type"] in {"external_select", "multi_external_select"}:
        # External options come from the app at typing time; Slack echoes what was picked.
        return {"text": {"type": "plain_text", "text": value}, "value": value}
    for option in options:
        if option.get("value") == value:
            return option
    raise ValueError(
        f"input {action_id!r} offers no option {value!r}; "
        f"choose one of {[o.get('value') for o in options]}"
    )


def _json_body(response: httpx.Response) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
