"""Modal views as ``views.open`` / ``views.update`` / ``views.push`` hold them, and their rules.

A view is what the app sent plus what Slack adds (id, hash, stack links, state). The limits
are the ones Slack answers with ``invalid_arguments``; the input element kinds are the ones a
``view_submission`` reports values for.
"""

from __future__ import annotations

import copy
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from emulator.slack.errors import SlackApiFailure

APP_ID = "A0EMULATED"

_MAX_TITLE = 24
_MAX_VIEW_BLOCKS = 100
_MAX_CALLBACK_ID = 255
_MAX_PRIVATE_METADATA = 3000
_MAX_EXTERNAL_ID = 255

# The key each input element's value sits under in ``view.state.values`` (Slack's names).
INPUT_VALUE_KEYS: dict[str, str] = {
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "checkboxes": "selected_options",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
}


@dataclass
class View:
    """An opened modal: the app's view plus Slack's bookkeeping.

    ``status`` is ``open`` until a submission closes it (``closed``) or the app replaces it
    (``updated`` views keep their id, so they stay ``open``). ``errors`` holds the last
    ``response_action: errors`` the app answered a submission with.
    """

    id: str
    user_id: str
    trigger_id: str
    body: dict[str, Any]
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    status: str = "open"
    updates: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    submissions: int = 0

    @property
    def callback_id(self) -> str:
        """The app's ``callback_id`` (empty when none)."""
        return str(self.body.get("callback_id", ""))

    @property
    def external_id(self) -> str | None:
        """The app's ``external_id``, if it set one."""
        return self.body.get("external_id")

    def to_api(self, team_id: str, bot_id: str) -> dict[str, Any]:
        """The ``view`` object Slack returns and puts into interaction payloads."""
        body = copy.deepcopy(self.body)
        return {
            "id": self.id,
            "team_id": team_id,
            "type": body.get("type", "modal"),
            "title": body.get("title"),
            "submit": body.get("submit"),
            "close": body.get("close"),
            "blocks": body.get("blocks", []),
            "private_metadata": body.get("private_metadata", ""),
            "callback_id": body.get("callback_id", ""),
            "external_id": body.get("external_id", ""),
            "state": {"values": {}},
            "hash": self.hash,
            "clear_on_close": bool(body.get("clear_on_close", False)),
            "notify_on_close": bool(body.get("notify_on_close", False)),
            "root_view_id": self.root_view_id,
            "previous_view_id": self.previous_view_id,
            "app_id": APP_ID,
            "app_installed_team_id": team_id,
            "bot_id": bot_id,
        }

    def control(self) -> dict[str, Any]:
        """The view as the control plane lists it (``GET /_slack/views``)."""
        return {
            "id": self.id,
            "user_id": self.user_id,
            "trigger_id": self.trigger_id,
            "status": self.status,
            "callback_id": self.callback_id,
            "private_metadata": self.body.get("private_metadata", ""),
            "hash": self.hash,
            "root_view_id": self.root_view_id,
            "previous_view_id": self.previous_view_id,
            "updates": self.updates,
            "submissions": self.submissions,
            "errors": dict(self.errors),
            "view": copy.deepcopy(self.body),
        }


def new_view_id() -> str:
    """A view id shaped like Slack's (``V`` and upper-case alphanumerics)."""
    return "V" + secrets.token_hex(5).upper()


def new_hash() -> str:
    """A view hash: changes on every update, so stale ``views.update`` calls conflict."""
    return f"{secrets.randbits(40)}.{secrets.token_hex(4)}"


def parse_view(value: Any) -> dict[str, Any]:
    """The ``view`` argument as a dict (form-encoded calls send it as a JSON string)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as ex:
            raise SlackApiFailure("invalid_arguments", messages=["view must be JSON"]) from ex
    if not isinstance(value, dict):
        raise SlackApiFailure(
            "invalid_arguments", messages=["[ERROR] missing required field: view"]
        )
    return value


def validate_view(view: dict[str, Any]) -> dict[str, Any]:
    """Apply the limits Slack enforces on a modal; answer ``invalid_arguments`` naming the field.

    Returns:
        A deep copy of the view, safe to store.
    """
    problems: list[str] = []
    if view.get("type") != "modal":
        problems.append("[ERROR] must be 'modal' [json-pointer:/view/type]")
    title = view.get("title")
    if not _plain_text(title, _MAX_TITLE):
        problems.append(
            f"[ERROR] title must be plain_text of 1-{_MAX_TITLE} characters "
            "[json-pointer:/view/title]"
        )
    for button in ("submit", "close"):
        if button in view and not _plain_text(view[button], _MAX_TITLE):
            problems.append(
                f"[ERROR] {button} must be plain_text of 1-{_MAX_TITLE} characters "
                f"[json-pointer:/view/{button}]"
            )
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or len(blocks) > _MAX_VIEW_BLOCKS:
        problems.append(
            f"[ERROR] blocks must be a list of at most {_MAX_VIEW_BLOCKS} "
            "[json-pointer:/view/blocks]"
        )
        blocks = []
    block_ids: set[str] = set()
    has_input = False
    for index, block in enumerate(blocks):
        if not isinstance(block, dict) or "type" not in block:
            problems.append(f"[ERROR] block needs a type [json-pointer:/view/blocks/{index}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in block_ids:
                problems.append(
                    f"[ERROR] duplicate block_id {block_id!r} "
                    f"[json-pointer:/view/blocks/{index}/block_id]"
                )
            block_ids.add(block_id)
        if block["type"] == "input":
            has_input = True
            element = block.get("element")
            if not isinstance(element, dict) or element.get("type") not in INPUT_VALUE_KEYS:
                problems.append(
                    "[ERROR] input block needs a supported element "
                    f"[json-pointer:/view/blocks/{index}/element]"
                )
            if not isinstance(block.get("label"), dict):
                problems.append(
                    f"[ERROR] input block needs a label [json-pointer:/view/blocks/{index}/label]"
                )
    if has_input and "submit" not in view:
        problems.append("[ERROR] a view with input blocks needs submit [json-pointer:/view/submit]")
    if len(str(view.get("callback_id", ""))) > _MAX_CALLBACK_ID:
        problems.append("[ERROR] callback_id is too long [json-pointer:/view/callback_id]")
    if len(str(view.get("private_metadata", ""))) > _MAX_PRIVATE_METADATA:
        problems.append(
            f"[ERROR] private_metadata is longer than {_MAX_PRIVATE_METADATA} characters "
            "[json-pointer:/view/private_metadata]"
        )
    if len(str(view.get("external_id", ""))) > _MAX_EXTERNAL_ID:
        problems.append("[ERROR] external_id is too long [json-pointer:/view/external_id]")
    if problems:
        raise SlackApiFailure("invalid_arguments", messages=problems)
    return copy.deepcopy(view)


def input_elements(view: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any], bool]]:
    """Input elements by ``action_id``: ``(block_id, element, optional)``."""
    found: dict[str, tuple[str, dict[str, Any], bool]] = {}
    for index, block in enumerate(view.get("blocks", [])):
        if block.get("type") != "input":
            continue
        element = block.get("element", {})
        block_id = block.get("block_id") or f"block{index}"
        action_id = element.get("action_id") or f"{block_id}-action"
        found[action_id] = (block_id, element, bool(block.get("optional", False)))
    return found


def _plain_text(value: Any, limit: int) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") == "plain_text"
        and 0 < len(str(value.get("text", ""))) <= limit
    )
