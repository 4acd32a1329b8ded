"""The Slack workspace the emulator holds: people, user groups, channels, messages, modals.

Plain objects and every rule (moto's ``models.py``): a missing object raises
:class:`SlackApiFailure` with Slack's own error code, and nothing here knows HTTP.
"""

from __future__ import annotations

import base64
import copy
import itertools
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from emulator.slack.errors import SlackApiFailure
from emulator.slack.views import (
    View,
    new_hash,
    new_view_id,
    validate_view,
)

BOT_USER_ID = "U0BOTAPPROVE"
BOT_ID = "B0BOTAPPROVE"
TEAM_ID = "T0EMULATED"

# Limits Slack enforces on Block Kit (and slack_sdk's model validators repeat).
_MAX_BLOCK_ID = 255
_MAX_ACTION_ID = 255
_MAX_BUTTON_VALUE = 2000
_MAX_BUTTON_TEXT = 75
_MAX_BLOCKS = 50


# Slack gives an app 3 s to use a trigger_id, and a response_url 5 posts within 30 minutes.
TRIGGER_TTL_SECONDS = 3.0
RESPONSE_URL_TTL_SECONDS = 30 * 60.0
RESPONSE_URL_MAX_USES = 5
_MAX_VIEW_STACK = 3

DEFAULT_SCOPES = (
    "channels:read",
    "chat:write",
    "commands",
    "groups:read",
    "im:write",
    "usergroups:read",
    "users:read",
    "users:read.email",
)

# The scope each Web API method needs (views.* and auth.test need none).
METHOD_SCOPES: dict[str, str] = {
    "chat.postEphemeral": "chat:write",
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "conversations.info": "channels:read",
    "conversations.list": "channels:read",
    "conversations.open": "im:write",
    "usergroups.list": "usergroups:read",
    "usergroups.users.list": "usergroups:read",
    "users.info": "users:read",
}


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


@dataclass
class Channel:
    """A conversation: a channel (``C``), a private channel (``G``) or a DM with ``user`` (``D``).

    ``is_member`` is whether the bot is in it; posting where it is not fails ``not_in_channel``.
    """

    id: str
    name: str
    is_private: bool = False
    is_member: bool = True
    is_archived: bool = False
    user: str | None = None

    @property
    def is_im(self) -> bool:
        """A direct message with one person."""
        return self.user is not None

    @property
    def kind(self) -> str:
        """The ``types`` value of ``conversations.list`` this conversation matches."""
        if self.is_im:
            return "im"
        return "private_channel" if self.is_private else "public_channel"

    def to_api(self) -> dict[str, Any]:
        """The ``channel`` object of ``conversations.info`` and ``conversations.list``."""
        if self.is_im:
            return {"id": self.id, "is_im": True, "user": self.user, "is_open": True}
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_member": self.is_member,
            "context_team_id": TEAM_ID,
        }


@dataclass
class Trigger:
    """A ``trigger_id`` Slack sent with a slash command or interaction, usable once, briefly."""

    id: str
    user_id: str
    source: str
    issued_at: float
    view_id: str | None = None
    used: bool = False


@dataclass
class ResponseUrl:
    """A ``response_url`` the emulator hosts; ``posts`` is every body the app sent to it."""

    token: str
    channel: str
    user_id: str
    source: str
    issued_at: float
    message_ts: str | None = None
    posts: list[dict[str, Any]] = field(default_factory=list)

    def control(self) -> dict[str, Any]:
        """The record ``GET /_slack/responses`` lists."""
        return {
            "token": self.token,
            "channel": self.channel,
            "user_id": self.user_id,
            "source": self.source,
            "message_ts": self.message_ts,
            "posts": copy.deepcopy(self.posts),
        }


class SlackState:
    """One emulated workspace. Thread-safe: the server runs in its own thread."""

    def __init__(self, *, tokens: set[str] | None = None) -> None:
        """Create an empty workspace.

        Args:
            tokens: Bot tokens accepted; ``None`` accepts any ``xoxb-``/``xoxp-`` token.
        """
        self._lock = threading.RLock()
        self.tokens = tokens
        # Set by the server once it listens: where the emulator hosts response URLs.
        self.public_url: str | None = None
        self.reset()

    def reset(self) -> None:
        """Forget every person, group, channel, message, view and fault; restore the scopes."""
        with self._lock:
            self.users: dict[str, User] = {}
            self.usergroups: dict[str, UserGroup] = {}
            self.channels: dict[str, str] = {}
            self.conversations: dict[str, Channel] = {}
            self.triggers: dict[str, Trigger] = {}
            self.views: dict[str, View] = {}
            self.response_urls: dict[str, ResponseUrl] = {}
            self.scopes: list[str] = list(DEFAULT_SCOPES)
            self.trigger_ttl = TRIGGER_TTL_SECONDS
            self.clock_offset = 0.0
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

    def add_channel(
        self,
        name: str,
        *,
        channel_id: str | None = None,
        is_private: bool = False,
        is_member: bool = True,
        is_archived: bool = False,
    ) -> Channel:
        """Add or replace a channel; ``is_member=False`` leaves the bot out of it."""
        with self._lock:
            name = name.lstrip("#")
            prefix = "G" if is_private else "C"
            conversation = Channel(
                id=channel_id or f"{prefix}{len(self.conversations) + 1:08d}",
                name=name,
                is_private=is_private,
                is_member=is_member,
                is_archived=is_archived,
            )
            return self._add_conversation(conversation)

    def set_scopes(self, scopes: list[str]) -> None:
        """The scopes the token was granted (``x-oauth-scopes``); calls needing others fail."""
        with self._lock:
            self.scopes = list(scopes)

    def now(self) -> float:
        """Unix time as the emulator sees it: wall time plus :meth:`advance_clock` moves."""
        return time.time() + self.clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock forward (trigger ids and response URLs age with it)."""
        with self._lock:
            self.clock_offset += max(0.0, seconds)

    def expire_triggers(self) -> int:
        """Age every trigger id issued so far past its 3 s; returns how many there were."""
        with self._lock:
            for trigger in self.triggers.values():
                trigger.issued_at = min(trigger.issued_at, self.now() - self.trigger_ttl - 1)
            return len(self.triggers)

    def issue_trigger(self, user_id: str, *, source: str, view_id: str | None = None) -> str:
        """Mint the ``trigger_id`` of a slash command or interaction by ``user_id``.

        Args:
            user_id: Who acted; the modal opens for them.
            source: ``slash_command``, ``block_actions`` or ``view_submission``.
            view_id: The modal the interaction happened in (``views.push`` needs one).

        Returns:
            The trigger id to put into the payload.
        """
        with self._lock:
            now = self.now()
            trigger_id = f"{int(now)}.{len(self.triggers) + 1}.{secrets.token_hex(10)}"
            self.triggers[trigger_id] = Trigger(
                id=trigger_id, user_id=user_id, source=source, issued_at=now, view_id=view_id
            )
            return trigger_id

    def issue_response_url(
        self,
        *,
        channel: str,
        user_id: str,
        source: str,
        message_ts: str | None = None,
        base_url: str | None = None,
    ) -> str:
        """Host a ``response_url`` for a slash command or click; the app may post to it later.

        Args:
            channel: Where in-channel answers go.
            user_id: Who sees ephemeral answers.
            source: ``slash_command`` or ``block_actions``.
            message_ts: The clicked message, which ``replace_original`` replaces.
            base_url: The emulator's URL; the running server's by default.

        Returns:
            The URL (``{emulator}/_slack/responses/{token}``), or an unreachable placeholder
            when the emulator is not served over HTTP.
        """
        with self._lock:
            token = secrets.token_hex(12)
            self.response_urls[token] = ResponseUrl(
                token=token,
                channel=channel,
                user_id=user_id,
                source=source,
                issued_at=self.now(),
                message_ts=message_ts,
            )
            base = (base_url or self.public_url or "https://hooks.slack.test").rstrip("/")
            return f"{base}/_slack/responses/{token}"

    def views_snapshot(self) -> list[dict[str, Any]]:
        """Every modal opened or pushed, oldest first (``GET /_slack/views``)."""
        with self._lock:
            return [view.control() for view in self.views.values()]

    def responses_snapshot(self) -> list[dict[str, Any]]:
        """Every hosted response URL and what was posted to it (``GET /_slack/responses``)."""
        with self._lock:
            return [response.control() for response in self.response_urls.values()]

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
        """``chat.postMessage``; a user id as ``channel`` posts in the app's DM with them."""
        with self._lock:
            channel_id = self._postable(channel)
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
            channel_id = self._postable(channel)
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

    def check_scope(self, method: str) -> None:
        """Refuse a call whose scope the token lacks, as Slack does (``missing_scope``)."""
        needed = METHOD_SCOPES.get(method)
        with self._lock:
            if needed is not None and needed not in self.scopes:
                raise SlackApiFailure(
                    "missing_scope", extra={"needed": needed, "provided": ",".join(self.scopes)}
                )

    def conversations_info(self, channel: str | None) -> dict[str, Any]:
        """``conversations.info``: a conversation by id (``is_member`` says if the bot is in)."""
        with self._lock:
            found = self.conversations.get(channel or "")
            if found is None:
                raise SlackApiFailure("channel_not_found")
            return found.to_api()

    def conversations_list(
        self, *, types: str | None, limit: int, cursor: str | None, exclude_archived: bool
    ) -> tuple[list[dict[str, Any]], str]:
        """``conversations.list``: one page and the next cursor (empty on the last page)."""
        wanted = {t.strip() for t in (types or "public_channel").split(",") if t.strip()}
        if not wanted <= {"public_channel", "private_channel", "im", "mpim"}:
            raise SlackApiFailure("invalid_types")
        start = _decode_cursor(cursor)
        limit = min(max(limit, 1), 1000)
        with self._lock:
            matching = [
                c
                for c in sorted(self.conversations.values(), key=lambda c: c.id)
                if c.kind in wanted and not (exclude_archived and c.is_archived)
            ]
            page = matching[start : start + limit]
            more = start + limit < len(matching)
            next_cursor = _encode_cursor(start + limit) if more else ""
            return [c.to_api() for c in page], next_cursor

    def conversations_open(self, users: str | None) -> dict[str, Any]:
        """``conversations.open`` with one user: the app's DM with them."""
        ids = [u.strip() for u in (users or "").split(",") if u.strip()]
        if not ids:
            raise SlackApiFailure("users_list_not_supplied")
        if len(ids) > 1:
            # Group DMs are not something an approvals app opens; say so rather than fake one.
            raise SlackApiFailure("not_supported")
        with self._lock:
            return {"id": self._open_dm(ids[0]).id}

    def open_view(self, trigger_id: str | None, view: dict[str, Any]) -> View:
        """``views.open``: a modal for the user whose slash command or click minted the trigger."""
        with self._lock:
            trigger = self._take_trigger(trigger_id)
            body = validate_view(view)
            self._unique_external_id(body)
            view_id = new_view_id()
            opened = View(
                id=view_id,
                user_id=trigger.user_id,
                trigger_id=trigger.id,
                body=body,
                hash=new_hash(),
                root_view_id=view_id,
            )
            self.views[view_id] = opened
            return opened

    def push_view(self, trigger_id: str | None, view: dict[str, Any]) -> View:
        """``views.push``: a modal on top of the one the interaction happened in (3 at most)."""
        with self._lock:
            trigger = self._take_trigger(trigger_id)
            below = self.views.get(trigger.view_id or "")
            if below is None or below.status != "open":
                raise SlackApiFailure("not_found")
            stack = [
                v
                for v in self.views.values()
                if v.root_view_id == below.root_view_id and v.status == "open"
            ]
            if len(stack) >= _MAX_VIEW_STACK:
                raise SlackApiFailure("push_limit_reached")
            body = validate_view(view)
            self._unique_external_id(body)
            pushed = View(
                id=new_view_id(),
                user_id=trigger.user_id,
                trigger_id=trigger.id,
                body=body,
                hash=new_hash(),
                root_view_id=below.root_view_id,
                previous_view_id=below.id,
            )
            self.views[pushed.id] = pushed
            return pushed

    def update_view(
        self,
        *,
        view_id: str | None,
        external_id: str | None,
        view_hash: str | None,
        view: dict[str, Any],
    ) -> View:
        """``views.update``: replace an open modal; a stale ``hash`` fails ``hash_conflict``."""
        with self._lock:
            if not view_id and not external_id:
                raise SlackApiFailure(
                    "invalid_arguments", messages=["[ERROR] view_id or external_id is required"]
                )
            found = self.views.get(view_id or "")
            if found is None and external_id:
                found = next((v for v in self.views.values() if v.external_id == external_id), None)
            if found is None or found.status != "open":
                raise SlackApiFailure("not_found")
            if view_hash is not None and view_hash != found.hash:
                raise SlackApiFailure("hash_conflict")
            found.body = validate_view(view)
            found.hash = new_hash()
            found.updates += 1
            found.errors = {}
            return found

    def find_view(
        self,
        *,
        view_id: str | None = None,
        callback_id: str | None = None,
        user_id: str | None = None,
    ) -> View | None:
        """The latest open modal matching every filter given."""
        with self._lock:
            for view in reversed(list(self.views.values())):
                if view.status != "open":
                    continue
                if view_id is not None and view.id != view_id:
                    continue
                if callback_id is not None and view.callback_id != callback_id:
                    continue
                if user_id is not None and view.user_id != user_id:
                    continue
                return view
            return None

    def apply_view_response(self, view_id: str, status_code: int, body: dict[str, Any]) -> None:
        """What Slack does with the app's answer to a ``view_submission``.

        An empty 200 closes the modal; ``response_action`` ``errors`` keeps it open with the
        messages, ``update`` replaces it, ``push`` stacks a new one, ``clear`` closes the stack.
        Anything but a 200 leaves it open (Slack shows the user a connection error).
        """
        with self._lock:
            view = self.views.get(view_id)
            if view is None or status_code != 200:
                return
            view.submissions += 1
            action = body.get("response_action")
            if action == "errors":
                view.errors = {str(k): str(v) for k, v in dict(body.get("errors", {})).items()}
            elif action == "update":
                view.body = validate_view(body.get("view", {}))
                view.hash = new_hash()
                view.updates += 1
                view.errors = {}
            elif action == "push":
                pushed_id = new_view_id()
                self.views[pushed_id] = View(
                    id=pushed_id,
                    user_id=view.user_id,
                    trigger_id=view.trigger_id,
                    body=validate_view(body.get("view", {})),
                    hash=new_hash(),
                    root_view_id=view.root_view_id,
                    previous_view_id=view.id,
                )
            elif action == "clear":
                for other in self.views.values():
                    if other.root_view_id == view.root_view_id:
                        other.status = "closed"
            else:
                view.status = "closed"

    def post_to_response_url(self, token: str, body: dict[str, Any]) -> tuple[int, str]:
        """An app's POST to a hosted ``response_url``: ``(HTTP status, body text)`` as Slack.

        Ephemeral answers (the default) reach only the user; ``in_channel`` ones are posted in
        the channel; ``replace_original``/``delete_original`` act on the clicked message.
        """
        with self._lock:
            response = self.response_urls.get(token)
            if response is None:
                return 404, "no_service"
            if self.now() - response.issued_at > RESPONSE_URL_TTL_SECONDS:
                return 404, "expired_url"
            if len(response.posts) >= RESPONSE_URL_MAX_USES:
                return 404, "used_url"
            text = body.get("text")
            blocks = body.get("blocks")
            if not body.get("delete_original") and not text and not blocks:
                return 400, "no_text"
            try:
                blocks = _validate_blocks(blocks)
            except SlackApiFailure:
                return 400, "invalid_blocks"
            response.posts.append(copy.deepcopy(body))
            original = (
                self._find(response.channel, response.message_ts) if response.message_ts else None
            )
            if body.get("delete_original") and original is not None:
                self.messages.remove(original)
            elif body.get("replace_original") and original is not None:
                original.text = text or ""
                original.blocks = blocks
                original.updates += 1
            elif body.get("response_type") == "in_channel":
                self.messages.append(
                    Message(
                        channel=response.channel,
                        ts=self._next_ts(),
                        text=text or "",
                        blocks=blocks,
                        thread_ts=body.get("thread_ts"),
                    )
                )
            else:
                self.ephemerals.append(
                    Ephemeral(
                        channel=response.channel,
                        user=response.user_id,
                        text=text or "",
                        blocks=blocks,
                        message_ts=self._next_ts(),
                    )
                )
            return 200, "ok"

    # -- helpers -------------------------------------------------------------------------

    def _take_trigger(self, trigger_id: str | None) -> Trigger:
        if not trigger_id:
            raise SlackApiFailure(
                "invalid_arguments", messages=["[ERROR] missing required field: trigger_id"]
            )
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            raise SlackApiFailure("invalid_trigger_id")
        if trigger.used:
            raise SlackApiFailure("exchanged_trigger_id")
        if self.now() - trigger.issued_at > self.trigger_ttl:
            raise SlackApiFailure("expired_trigger_id")
        trigger.used = True
        return trigger

    def _unique_external_id(self, body: dict[str, Any]) -> None:
        external_id = body.get("external_id")
        if external_id and any(v.external_id == external_id for v in self.views.values()):
            raise SlackApiFailure("duplicate_external_id")

    def _find(self, channel_id: str, ts: str) -> Message | None:
        for message in self.messages:
            if message.channel == channel_id and message.ts == ts:
                return message
        return None

    def _channel_id(self, channel: str | None, *, create: bool) -> str:
        if not channel:
            raise SlackApiFailure("channel_not_found")
        if channel in self.conversations:
            return channel
        if _looks_like_user(channel):
            # chat.postMessage to a user id posts in the app's DM with them.
            return self._open_dm(channel).id
        name = channel.lstrip("#")
        if name in self.channels:
            return self.channels[name]
        if _looks_like_id(channel):
            # A conversation id the workspace has not seen yet: Slack knows every channel.
            self._add_conversation(Channel(id=channel, name=channel.lower()))
            return channel
        if not create:
            raise SlackApiFailure("channel_not_found")
        channel_id = f"C{len(self.channels) + 1:08d}"
        self._add_conversation(Channel(id=channel_id, name=name))
        return channel_id

    def _postable(self, channel: str | None) -> str:
        channel_id = self._channel_id(channel, create=True)
        conversation = self.conversations[channel_id]
        if conversation.is_archived:
            raise SlackApiFailure("is_archived")
        if not conversation.is_member:
            raise SlackApiFailure("not_in_channel")
        return channel_id

    def _add_conversation(self, conversation: Channel) -> Channel:
        self.conversations[conversation.id] = conversation
        self.channels[conversation.name] = conversation.id
        return conversation

    def _open_dm(self, user_id: str) -> Channel:
        found = self.users.get(user_id)
        if found is None or found.deleted:
            raise SlackApiFailure("user_not_found")
        channel_id = "D" + user_id[1:]
        existing = self.conversations.get(channel_id)
        if existing is not None:
            return existing
        return self._add_conversation(Channel(id=channel_id, name=channel_id.lower(), user=user_id))

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind != "offset" or not value.isdigit():
            raise ValueError(cursor)
        return int(value)
    except ValueError as ex:
        raise SlackApiFailure("invalid_cursor") from ex


def _looks_like_user(channel: str) -> bool:
    return channel[:1] in {"U", "W"} and channel[1:].isalnum() and channel.upper() == channel


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
