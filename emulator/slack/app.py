"""The emulator's HTTP face: Slack's Web API under ``/api/`` and a control plane under ``/_slack/``.

Routes read parameters the way Slack accepts them (query string, form or JSON body, bearer token
or ``token`` field), call one :class:`~emulator.slack.state.SlackState` method and wrap the
result in Slack's envelope. Slack answers errors with HTTP 200 and ``{"ok": false}``; only rate
limiting is a 429.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from emulator.slack.state import BOT_ID, TEAM_ID, SlackApiFailure, SlackState, User, UserGroup
from emulator.slack.views import View, parse_view

Params = dict[str, Any]


class UserSeed(BaseModel):
    """A member to add through ``POST /_slack/users``."""

    id: str
    name: str
    email: str | None = None
    real_name: str | None = None
    deleted: bool = False
    is_bot: bool = False
    is_restricted: bool = False


class UserGroupSeed(BaseModel):
    """A user group to add through ``POST /_slack/usergroups``."""

    id: str
    handle: str
    name: str | None = None
    users: list[str] = Field(default_factory=list)


class ChannelSeed(BaseModel):
    """A channel to add through ``POST /_slack/channels``."""

    name: str
    id: str | None = None
    is_private: bool = False
    is_member: bool = True
    is_archived: bool = False


class Scopes(BaseModel):
    """``POST /_slack/scopes``: the scopes the bot token was granted."""

    scopes: list[str]


class Clock(BaseModel):
    """``POST /_slack/clock``: move the emulator's clock forward (ages triggers and URLs)."""

    advance: float = Field(ge=0)


class TriggerSeed(BaseModel):
    """``POST /_slack/triggers``: mint a trigger id as if ``user_id`` had acted."""

    user_id: str
    source: str = "block_actions"
    view_id: str | None = None


class RateLimit(BaseModel):
    """``POST /_slack/rate_limit``: answer the next ``count`` calls with 429."""

    count: int = Field(default=1, ge=0)
    retry_after: int = Field(default=1, ge=0)


def _blocks(value: Any) -> list[dict[str, Any]] | None:
    # Form-encoded calls carry blocks as a JSON string.
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as ex:
            raise SlackApiFailure("invalid_blocks") from ex
    return value


def _flag(value: Any) -> bool:
    return str(value).lower() in {"1", "true"}


def _auth_test(state: SlackState, _: Params) -> Params:
    return state.auth_test()


def _post_message(state: SlackState, p: Params) -> Params:
    message = state.post_message(
        channel=p.get("channel"),
        text=p.get("text"),
        blocks=_blocks(p.get("blocks")),
        thread_ts=p.get("thread_ts"),
    )
    return {"channel": message.channel, "ts": message.ts, "message": message.to_api()}


def _update(state: SlackState, p: Params) -> Params:
    message = state.update_message(
        channel=p.get("channel"),
        ts=p.get("ts"),
        text=p.get("text"),
        blocks=_blocks(p.get("blocks")),
    )
    return {
        "channel": message.channel,
        "ts": message.ts,
        "text": message.text,
        "message": message.to_api(),
    }


def _post_ephemeral(state: SlackState, p: Params) -> Params:
    ephemeral = state.post_ephemeral(
        channel=p.get("channel"),
        user=p.get("user"),
        text=p.get("text"),
        blocks=_blocks(p.get("blocks")),
    )
    return {"message_ts": ephemeral.message_ts}


def _usergroup_users(state: SlackState, p: Params) -> Params:
    return {"users": state.usergroup_users(p.get("usergroup"))}


def _usergroups_list(state: SlackState, p: Params) -> Params:
    return {"usergroups": state.list_usergroups(include_users=_flag(p.get("include_users")))}


def _users_info(state: SlackState, p: Params) -> Params:
    return {"user": state.user_info(p.get("user"))}


def _conversations_info(state: SlackState, p: Params) -> Params:
    return {"channel": state.conversations_info(p.get("channel"))}


def _conversations_list(state: SlackState, p: Params) -> Params:
    try:
        limit = int(p.get("limit") or 100)
    except ValueError as ex:
        raise SlackApiFailure("invalid_limit") from ex
    channels, next_cursor = state.conversations_list(
        types=p.get("types"),
        limit=limit,
        cursor=p.get("cursor"),
        exclude_archived=_flag(p.get("exclude_archived")),
    )
    return {"channels": channels, "response_metadata": {"next_cursor": next_cursor}}


def _conversations_open(state: SlackState, p: Params) -> Params:
    return {"channel": state.conversations_open(p.get("users"))}


def _view_api(view: View) -> Params:
    return {"view": view.to_api(TEAM_ID, BOT_ID)}


def _views_open(state: SlackState, p: Params) -> Params:
    trigger = p.get("trigger_id") or p.get("interactivity_pointer")
    return _view_api(state.open_view(trigger, parse_view(p.get("view"))))


def _views_push(state: SlackState, p: Params) -> Params:
    trigger = p.get("trigger_id") or p.get("interactivity_pointer")
    return _view_api(state.push_view(trigger, parse_view(p.get("view"))))


def _views_update(state: SlackState, p: Params) -> Params:
    view = state.update_view(
        view_id=p.get("view_id"),
        external_id=p.get("external_id"),
        view_hash=p.get("hash"),
        view=parse_view(p.get("view")),
    )
    return _view_api(view)


METHODS: dict[str, Callable[[SlackState, Params], Params]] = {
    "auth.test": _auth_test,
    "chat.postEphemeral": _post_ephemeral,
    "chat.postMessage": _post_message,
    "chat.update": _update,
    "conversations.info": _conversations_info,
    "conversations.list": _conversations_list,
    "conversations.open": _conversations_open,
    "usergroups.list": _usergroups_list,
    "usergroups.users.list": _usergroup_users,
    "users.info": _users_info,
    "views.open": _views_open,
    "views.push": _views_push,
    "views.update": _views_update,
}


async def _read_params(request: Request) -> tuple[Params, str | None]:
    params: Params = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if body:
        if content_type.startswith("application/json"):
            try:
                parsed = json.loads(body)
            except ValueError as ex:
                raise SlackApiFailure("invalid_json") from ex
            if not isinstance(parsed, dict):
                raise SlackApiFailure("invalid_json")
            params.update(parsed)
        else:
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
    token = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    token = token or params.pop("token", None)
    return params, token


def create_app(state: SlackState | None = None) -> FastAPI:
    """Build the emulator app around ``state`` (a new empty workspace by default).

    Args:
        state: The workspace to serve; each app gets its own unless one is passed.

    Returns:
        The FastAPI app; ``app.state.slack`` is the workspace.
    """
    state = state or SlackState()
    app = FastAPI(title="Slack Web API emulator", docs_url=None, redoc_url=None)
    app.state.slack = state

    @app.api_route("/api/{method}", methods=["GET", "POST"])
    async def web_api(method: str, request: Request) -> JSONResponse:
        state.record_call(method)
        retry_after = state.take_rate_limit()
        if retry_after is not None:
            return JSONResponse(
                {"ok": False, "error": "ratelimited"},
                status_code=429,
                headers={"Retry-After": str(retry_after)},
            )
        handler = METHODS.get(method)
        headers: dict[str, str] = {}
        try:
            if handler is None:
                raise SlackApiFailure("unknown_method")
            params, token = await _read_params(request)
            state.authenticate(token)
            # Slack reports the token's scopes on every authenticated answer; `doctor` reads it.
            headers["x-oauth-scopes"] = ",".join(state.scopes)
            state.check_scope(method)
            body = handler(state, params)
        except SlackApiFailure as ex:
            return JSONResponse(ex.to_api(), headers=headers)
        return JSONResponse({"ok": True, **body}, headers=headers)

    @app.get("/_slack/messages")
    async def messages() -> dict[str, Any]:
        return state.snapshot()

    @app.get("/_slack/requests")
    async def requests() -> dict[str, Any]:
        return {"total": sum(state.calls.values()), "by_method": dict(state.calls)}

    @app.post("/_slack/reset")
    async def reset() -> dict[str, bool]:
        state.reset()
        return {"ok": True}

    @app.post("/_slack/users")
    async def add_users(users: list[UserSeed]) -> dict[str, Any]:
        for user in users:
            state.add_user(User(**user.model_dump()))
        return {"ok": True, "users": [u.id for u in users]}

    @app.post("/_slack/usergroups")
    async def add_usergroups(groups: list[UserGroupSeed]) -> dict[str, Any]:
        for group in groups:
            state.add_usergroup(
                UserGroup(
                    id=group.id,
                    handle=group.handle,
                    name=group.name or group.handle,
                    users=list(group.users),
                )
            )
        return {"ok": True, "usergroups": [g.id for g in groups]}

    @app.post("/_slack/channels")
    async def add_channels(channels: list[ChannelSeed]) -> dict[str, Any]:
        added = [
            state.add_channel(
                c.name,
                channel_id=c.id,
                is_private=c.is_private,
                is_member=c.is_member,
                is_archived=c.is_archived,
            )
            for c in channels
        ]
        return {"ok": True, "channels": [c.id for c in added]}

    @app.post("/_slack/scopes")
    async def set_scopes(scopes: Scopes) -> dict[str, Any]:
        state.set_scopes(scopes.scopes)
        return {"ok": True, "scopes": scopes.scopes}

    @app.post("/_slack/clock")
    async def advance_clock(clock: Clock) -> dict[str, Any]:
        state.advance_clock(clock.advance)
        return {"ok": True, "offset": state.clock_offset}

    @app.post("/_slack/triggers")
    async def issue_trigger(seed: TriggerSeed) -> dict[str, Any]:
        trigger_id = state.issue_trigger(seed.user_id, source=seed.source, view_id=seed.view_id)
        return {"ok": True, "trigger_id": trigger_id}

    @app.post("/_slack/triggers/expire")
    async def expire_triggers() -> dict[str, Any]:
        return {"ok": True, "expired": state.expire_triggers()}

    @app.get("/_slack/views")
    async def views() -> dict[str, Any]:
        return {"views": state.views_snapshot()}

    @app.get("/_slack/responses")
    async def responses() -> dict[str, Any]:
        return {"responses": state.responses_snapshot()}

    @app.post("/_slack/responses/{token}")
    async def respond(token: str, request: Request) -> PlainTextResponse:
        # What an app POSTs to a response_url: JSON, or form-encoded `payload=` (older apps).
        raw = await request.body()
        try:
            if request.headers.get("content-type", "").startswith("application/json"):
                body = json.loads(raw or b"{}")
            else:
                body = json.loads(dict(parse_qsl(raw.decode())).get("payload", "{}"))
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not isinstance(body, dict):
            return PlainTextResponse("invalid_payload", status_code=400)
        status, text = state.post_to_response_url(token, body)
        return PlainTextResponse(text, status_code=status)

    @app.post("/_slack/rate_limit")
    async def rate_limit(limit: RateLimit) -> dict[str, Any]:
        state.set_rate_limit(limit.count, limit.retry_after)
        return {"ok": True, "count": limit.count, "retry_after": limit.retry_after}

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    return app
