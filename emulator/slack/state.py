"""The Slack workspace the emulator holds: people, user groups, channels, messages.

Plain objects and every rule (moto's ``models.py``): a missing object raises
:class:`SlackApiFailure` with Slack's own error code, and nothing here knows HTTP.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

BOT_USER_ID = "U0BOTAPPROVE"
BOT_ID = "B0BOTAPPROVE"
TEAM_ID = "T0EMULATED"

# Limits Slack enforces on Block Kit (and slack_sdk's model validators repeat).
_MAX_BLOCK_ID = 255
_MAX_ACTION_ID = 255
_MAX_BUTTON_VALUE = 2000
_MAX_BUTTON_TEXT = 75
_MAX_BLOCKS = 50


class SlackApiFailure(Exception):
    """A Web API call Slack would answer with ``{"ok": false, "error": code}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class User:
    """A workspace member, shaped like ``users.info``'s ``user``."""

    id: str
    name: str
    email: str | None = None
    real_name: str | None = None
    deleted: bool = False
    is_bot: bool = False
    is_restricted: bool = False

    def to_api(self) -> dict[str, Any]:
        """The ``user`` object of ``users.info``."""
        real_name = self.real_name or self.name
        profile: dict[str, Any] = {"real_name": real_name, "display_name": self.name}
        if self.email:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": real_name,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
            "is_restricted": self.is_restricted,
            "is_ultra_restricted": False,
            "profile": profile,
        }


@dataclass
class UserGroup:
    """A user group (Slack calls them subteams; ids start with ``S``)."""

    id: str
    handle: str
    name: str
    users: list[str] = field(default_factory=list)

    def to_api(self, *, include_users: bool = False) -> dict[str, Any]:
        """The usergroup object of ``usergroups.list``."""
        body: dict[str, Any] = {
            "id": self.id,
            "team_id": TEAM_ID,
            "handle": self.handle,
            "name": self.name,
            "user_count": len(self.users),
        }
        if include_users:
            body["users"] = list(self.users)
        return body


@dataclass
class Message:
    """A message the bot posted; ``updates`` counts ``chat.update`` calls on it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    updates: int = 0

    def to_api(self) -> dict[str, Any]:
        """The message object as Slack returns it (and puts into click payloads)."""
        body: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": self.ts,
            "text": self.text,
            "blocks": copy.deepcopy(self.blocks),
        }
        if self.thread_ts:
            body["thread_ts"] = self.thread_ts
        if self.updates:
            body["edited"] = {"user": BOT_USER_ID, "ts": self.ts}
        return body


@dataclass
class Ephemeral:
    """A message only ``user`` sees; Slack keeps no copy, the emulator does for tests."""

    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    message_ts: str


class SlackState:
    """One emulated workspace. Thread-safe: the server runs in its own thread."""

    def __init__(self, *, tokens: set[str] | None = None) -> None:
        """Create an empty workspace.

        Args:
            tokens: Bot tokens accepted; ``None`` accepts any ``xoxb-``/``xoxp-`` token.
        """
        self._lock = threading.RLock()
        self.tokens = tokens
        self.reset()

    def reset(self) -> None:
        """Forget every person, group, channel, message and pending fault."""
        with self._lock:
            self.users: dict[str, User] = {}
            self.usergroups: dict[str, UserGroup] = {}
            self.channels: dict[str, str] = {}
            self.messages: list[Message] = []
            self.ephemerals: list[Ephemeral] = []
            self.rate_limited_calls = 0
            self.retry_after = 1
            self.calls: Counter[str] = Counter()
            self._ts = itertools.count(1)

    # -- control plane -------------------------------------------------------------

    def add_user(self, user: User) -> User:
        """Add or replace a member."""
        with self._lock:
            self.users[user.id] = user
            return user

    def add_usergroup(self, group: UserGroup) -> UserGroup:
        """Add or replace a user group."""
        with self._lock:
            self.usergroups[group.id] = group
            return group

    def set_rate_limit(self, count: int, retry_after: int) -> None:
        """Answer the next ``count`` Web API calls with 429 and ``Retry-After``."""
        with self._lock:
            self.rate_limited_calls = max(0, count)
            self.retry_after = max(0, retry_after)

    def take_rate_limit(self) -> int | None:
        """The ``Retry-After`` for this call if it must be limited, else ``None``."""
        with self._lock:
            if self.rate_limited_calls <= 0:
                return None
            self.rate_limited_calls -= 1
            return self.retry_after

    def record_call(self, method: str) -> None:
        """Count one Web API call (the request journal)."""
        with self._lock:
            self.calls[method] += 1

    def snapshot(self) -> dict[str, Any]:
        """Everything posted, for the control API."""
        with self._lock:
            return {
                "messages": [{"channel": m.channel, **m.to_api()} for m in self.messages],
                "ephemerals": [
                    {
                        "channel": e.channel,
                        "user": e.user,
                        "text": e.text,
                        "blocks": copy.deepcopy(e.blocks),
                        "message_ts": e.message_ts,
                    }
                    for e in self.ephemerals
                ],
            }

    # -- Web API rules -----------------------------------------------------------------

    def authenticate(self, token: str | None) -> None:
        """Refuse a missing or unknown token as Slack does."""
        if not token:
            raise SlackApiFailure("not_authed")
        if self.tokens is None:
            if not token.startswith(("xoxb-", "xoxp-")):
                raise SlackApiFailure("invalid_auth")
        elif token not in self.tokens:
            raise SlackApiFailure("invalid_auth")

    def auth_test(self) -> dict[str, Any]:
        """``auth.test``: who the token belongs to."""
        return {
            "url": "https://emulated.slack.test/",
            "team": "Emulated",
            "user": "approvals-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def post_message(
        self,
        *,
        channel: str | None,
        text: str | None,
        blocks: list[dict[str, Any]] | None,
        thread_ts: str | None = None,
    ) -> Message:
        """``chat.postMessage``."""
        with self._lock:
            channel_id = self._channel_id(channel, create=True)
            blocks = _validate_blocks(blocks)
            if not text and not blocks:
                raise SlackApiFailure("no_text")
            if thread_ts is not None and self._find(channel_id, thread_ts) is None:
                raise SlackApiFailure("thread_not_found")
            message = Message(
                channel=channel_id,
                ts=self._next_ts(),
                text=text or "",
                blocks=blocks,
                thread_ts=thread_ts,
            )
            self.messages.append(message)
            return message

    def update_message(
        self,
        *,
        channel: str | None,
        ts: str | None,
        text: str | None,
        blocks: list[dict[str, Any]] | None,
    ) -> Message:
        """``chat.update``: replace text and blocks of a message in place."""
        with self._lock:
            channel_id = self._channel_id(channel, create=False)
            message = self._find(channel_id, ts) if ts else None
            if message is None:
                raise SlackApiFailure("message_not_found")
            new_blocks = _validate_blocks(blocks)
            if not text and not new_blocks:
                raise SlackApiFailure("no_text")
            message.text = text or ""
            message.blocks = new_blocks
            message.updates += 1
            return message

    def post_ephemeral(
        self,
        *,
        channel: str | None,
        user: str | None,
        text: str | None,
        blocks: list[dict[str, Any]] | None,
    ) -> Ephemeral:
        """``chat.postEphemeral``: a message only ``user`` sees."""
        with self._lock:
            channel_id = self._channel_id(channel, create=True)
            if not user or user not in self.users:
                raise SlackApiFailure("user_not_found")
            blocks = _validate_blocks(blocks)
            if not text and not blocks:
                raise SlackApiFailure("no_text")
            ephemeral = Ephemeral(
                channel=channel_id,
                user=user,
                text=text or "",
                blocks=blocks,
                message_ts=self._next_ts(),
            )
            self.ephemerals.append(ephemeral)
            return ephemeral

    def usergroup_users(self, usergroup: str | None) -> list[str]:
        """``usergroups.users.list``: member ids of a group (by id)."""
        with self._lock:
            group = self.usergroups.get(usergroup or "")
            if group is None:
                raise SlackApiFailure("no_such_subteam")
            return [u for u in group.users if not self.users.get(u, User(u, u)).deleted]

    def list_usergroups(self, *, include_users: bool) -> list[dict[str, Any]]:
        """``usergroups.list``."""
        with self._lock:
            return [g.to_api(include_users=include_users) for g in self.usergroups.values()]

    def user_info(self, user: str | None) -> dict[str, Any]:
        """``users.info``."""
        with self._lock:
            found = self.users.get(user or "")
            if found is None:
                raise SlackApiFailure("user_not_found")
            return found.to_api()

    def find_message(self, channel: str | None = None, ts: str | None = None) -> Message | None:
        """A posted message by channel (id or name) and ts; the latest top-level one if no ts."""
        with self._lock:
            channel_id = self.channels.get(channel, channel) if channel else None
            for message in reversed(self.messages):
                if channel_id and message.channel != channel_id:
                    continue
                if ts is not None and message.ts != ts:
                    continue
                if ts is None and message.thread_ts:
                    continue
                return message
            return None

    # -- helpers -------------------------------------------------------------------------

    def _find(self, channel_id: str, ts: str) -> Message | None:
        for message in self.messages:
            if message.channel == channel_id and message.ts == ts:
                return message
        return None

    def _channel_id(self, channel: str | None, *, create: bool) -> str:
        if not channel:
            raise SlackApiFailure("channel_not_found")
        if channel in self.channels.values():
            return channel
        name = channel.lstrip("#")
        if name in self.channels:
            return self.channels[name]
        if _looks_like_id(channel):
            # A conversation id the workspace has not seen yet: Slack knows every channel.
            self.channels[channel] = channel
            return channel
        if not create:
            raise SlackApiFailure("channel_not_found")
        channel_id = f"C{len(self.channels) + 1:08d}"
        self.channels[name] = channel_id
        return channel_id

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"


def _looks_like_id(channel: str) -> bool:
    return channel[:1] in {"C", "G", "D"} and channel[1:].isalnum() and channel.upper() == channel


def _validate_blocks(blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Apply the Block Kit limits Slack answers with ``invalid_blocks``."""
    if blocks is None:
        return []
    if not isinstance(blocks, list) or len(blocks) > _MAX_BLOCKS:
        raise SlackApiFailure("invalid_blocks")
    block_ids: set[str] = set()
    for block in blocks:
        if not isinstance(block, dict) or "type" not in block:
            raise SlackApiFailure("invalid_blocks")
        block_id = block.get("block_id")
        if block_id is not None:
            if len(block_id) > _MAX_BLOCK_ID or block_id in block_ids:
                raise SlackApiFailure("invalid_blocks")
            block_ids.add(block_id)
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element.get("type") != "button":
                continue
            if len(element.get("action_id", "")) > _MAX_ACTION_ID:
                raise SlackApiFailure("invalid_blocks")
            if len(element.get("value", "")) > _MAX_BUTTON_VALUE:
                raise SlackApiFailure("invalid_blocks")
            if len(element.get("text", {}).get("text", "")) > _MAX_BUTTON_TEXT:
                raise SlackApiFailure("invalid_blocks")
    return copy.deepcopy(blocks)
