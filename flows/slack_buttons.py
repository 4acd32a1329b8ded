"""A click on one of our Slack buttons, as every button handler first reads it.

Approval and review messages both carry buttons whose value is ``run_id|key|hash``: the flow
run that owns the decision, what is decided there (a gate, a review item), and the hash of what
the clicker saw. Anything else in a ``block_actions`` payload is not ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class ButtonClick:
    """One click: who, which button, and the ``run_id|key|hash`` it carries."""

    user_id: str
    user_name: str | None
    action_id: str
    run_id: str
    key: str
    hash: str
    channel_id: str | None
    message_ts: str | None
    message: dict[str, Any]


def parse_button_click(
    payload: dict[str, Any], action_ids: set[str], key: re.Pattern[str]
) -> ButtonClick | None:
    """The click in a ``block_actions`` payload, or ``None`` when it is not one of ours.

    Args:
        payload: The JSON of the form field ``payload``.
        action_ids: The buttons this handler answers.
        key: What the middle part of the value must look like.

    Returns:
        The click, or ``None``.
    """
    if payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions") or []
    user = payload.get("user") or {}
    if len(actions) != 1 or not user.get("id"):
        return None
    action = actions[0]
    if action.get("action_id") not in action_ids:
        return None
    parts = str(action.get("value", "")).split("|")
    if len(parts) != 3 or not all(parts) or not key.match(parts[1]):
        return None
    try:
        UUID(parts[0])
    except ValueError:
        return None
    container = payload.get("container") or {}
    message = payload.get("message") or {}
    return ButtonClick(
        user_id=str(user["id"]),
        user_name=user.get("username") or user.get("name"),
        action_id=str(action["action_id"]),
        run_id=parts[0],
        key=parts[1],
        hash=parts[2],
        channel_id=container.get("channel_id") or (payload.get("channel") or {}).get("id"),
        message_ts=container.get("message_ts") or message.get("ts"),
        message=message,
    )
