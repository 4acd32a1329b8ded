"""Temporary access requested in Slack: the modal, its submission, and "Revoke now".

``/arize-access`` (``webhooks.routes.slack_commands``) opens :func:`request_modal`. Its
``view_submission`` and the "Revoke now" button reach ``POST /slack/interactions``, whose route
has verified Slack's signature, and are offered to :class:`AccessRequestHandler`. The handler
never grants anything itself: it starts ``grant-temporary-access`` or
``revoke-temporary-access`` through Prefect, with the requester (looked up in Slack, never
taken from the form) in a trigger signed by this service, and tells the requester in a DM.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from prefect.client.orchestration import PrefectClient
from prefect.deployments import arun_deployment
from pydantic import ValidationError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.slack import slack_web_client
from flows.grant_temporary_access.notices import REVOKE_ACTION_ID
from flows.grant_temporary_access.spec import LONGEST_GRANT, GrantTemporaryAccessSpec
from tasks.access_grants import read_grant
from tasks.triggers import Trigger, TriggerSource

logger = logging.getLogger("webhooks.access_requests")

CALLBACK_ID = "access-request"
GRANT_DEPLOYMENT = "grant-temporary-access/grant-temporary-access"
REVOKE_DEPLOYMENT = "revoke-temporary-access/revoke-temporary-access"
DURATIONS_HOURS = ("1", "2", "4", "8")


def _text_input(
    block_id: str, label: str, *, optional: bool = False, multiline: bool = False,
    initial: str | None = None, kind: str = "plain_text_input",
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": kind, "action_id": block_id}
    if multiline:
        element["multiline"] = True
    if initial:
        element["initial_value"] = initial
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def request_modal(requester_email: str | None) -> dict[str, Any]:
    """The request form: who, role, space, project, how long, why, ticket."""
    hours = [
        {"text": {"type": "plain_text", "text": f"{h} h"}, "value": h} for h in DURATIONS_HOURS
    ]
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": {"type": "plain_text", "text": "Temporary Arize access"},
        "submit": {"type": "plain_text", "text": "Request"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _text_input("email", "Who (Arize e-mail)", initial=requester_email,
                        kind="email_text_input"),
            _text_input("role", "Role (custom role name, or MEMBER / READ_ONLY / ANNOTATOR)"),
            _text_input("space", "Space"),
            _text_input("project", "Project (empty: the whole space)", optional=True),
            {
                "type": "input",
                "block_id": "hours",
                "label": {"type": "plain_text", "text": "For how long"},
                "element": {
                    "type": "static_select",
                    "action_id": "hours",
                    "options": hours,
                    "initial_option": hours[0],
                },
            },
            _text_input("reason", "Why", multiline=True),
            _text_input("ticket", "Ticket", optional=True),
        ],
    }


def submitted_spec(values: dict[str, Any]) -> dict[str, Any]:
    """The spec's fields from a submission's ``view.state.values``; empty inputs left out."""
    def value(block: str) -> str | None:
        entry = values.get(block, {}).get(block, {})
        chosen = entry.get("selected_option") or {}
        raw = entry.get("value") if "value" in entry else chosen.get("value")
        return raw.strip() if isinstance(raw, str) and raw.strip() else None

    fields: dict[str, Any] = {
        name: value(name) for name in ("email", "role", "space", "project", "reason", "ticket")
    }
    hours = value("hours")
    if hours is not None:
        fields["duration"] = form_hours(hours).total_seconds()
    return {k: v for k, v in fields.items() if v is not None}


class FormError(ValueError):
    """A form field that cannot be read: the field, and what to choose instead."""

    def __init__(self, field: str, fix: str) -> None:
        self.field = field
        super().__init__(f"{field}: {fix}")


def form_hours(raw: str) -> timedelta:
    """The form's "For how long" as a duration, bounded before any arithmetic on it.

    The form offers a few choices, but the value arrives as text: "nan", "inf" or "1e12" would
    otherwise fail inside ``timedelta`` (ValueError, OverflowError) with no word to the person.
    The access policy's own maximum is checked later, by the flow.

    Raises:
        FormError: not a number of hours, or not between 0 and the longest grant.
    """
    choices = ", ".join(DURATIONS_HOURS)
    longest = LONGEST_GRANT.total_seconds() / 3600
    try:
        hours = float(raw)
    except ValueError:
        hours = math.nan
    if not math.isfinite(hours) or not 0 < hours <= longest:
        shown = raw if len(raw) <= 20 else f"{raw[:20]}…"
        raise FormError(
            "hours", f"{shown!r} is not a number of hours between 0 and {longest:g}; choose one "
            f"of the form's durations ({choices} h)",
        )
    return timedelta(hours=hours)


def explain(error: ValidationError) -> str:
    """A validation error as one line per field, without echoing long input back."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}" for e in error.errors()
    )


class AccessRequestHandler:
    """Acts on access-request submissions and "Revoke now" clicks; ignores everything else."""

    def __init__(
        self,
        *,
        bot_token: str,
        slack_base_url: str | None,
        prefect_client: Callable[[], PrefectClient],
    ) -> None:
        self._bot_token = bot_token
        self._slack_base_url = slack_base_url
        self._prefect_client = prefect_client

    def __repr__(self) -> str:  # the token stays out of logs and tracebacks
        return "AccessRequestHandler()"

    def slack(self) -> AsyncWebClient:
        """A Slack client with the bot token."""
        return slack_web_client(self._bot_token, self._slack_base_url)

    async def requester_email(self, user_id: str) -> str | None:
        """The Slack user's e-mail; ``None`` when Slack does not know them (or no e-mail)."""
        try:
            response = await self.slack().users_info(user=user_id)
        except SlackApiError:
            return None
        user = response.get("user") or {}
        if user.get("deleted") or user.get("is_bot"):
            return None
        return (user.get("profile") or {}).get("email") or None

    async def tell(self, user_id: str, text: str) -> None:
        """DM ``text`` to the user; a Slack failure is logged, not raised."""
        try:
            await self.slack().chat_postMessage(channel=user_id, text=text)
        except SlackApiError as ex:
            logger.warning("could not DM %s: %s", user_id, ex.response.get("error"))

    async def handle(self, payload: dict[str, Any]) -> object | None:
        """Start a grant from a submitted form, or an early revoke from a click.

        Returns:
            The flow run started (or ``False`` when the request was refused); ``None`` when the
            payload is not an access request.
        """
        kind = payload.get("type")
        if kind == "view_submission" and payload.get("view", {}).get("callback_id") == CALLBACK_ID:
            return await self.submit(payload)
        if kind == "block_actions":
            actions = payload.get("actions") or []
            if actions and actions[0].get("action_id") == REVOKE_ACTION_ID:
                return await self.revoke_now(payload, str(actions[0].get("value", "")))
        return None

    async def submit(self, payload: dict[str, Any]) -> object:
        """Validate the form, then start grant-temporary-access for the requester."""
        user_id = str(payload.get("user", {}).get("id", ""))
        view = payload.get("view", {})
        requester = await self.requester_email(user_id)
        if requester is None:
            logger.info("access request refused: Slack user %s has no e-mail", user_id)
            await self.tell(user_id, "Refused: Slack does not know you with an e-mail address, "
                            "so nobody could tell who asked. Ask an admin to run it instead.")
            return False
        try:
            spec = GrantTemporaryAccessSpec.model_validate(
                submitted_spec(view.get("state", {}).get("values", {}))
            )
        except ValidationError as ex:
            await self.tell(user_id, f"Refused, nothing was changed: {explain(ex)}.")
            return False
        except FormError as ex:
            logger.info("access request refused: unreadable %s", ex.field)
            await self.tell(user_id, f"Refused, nothing was changed: {ex}.")
            return False
        trigger = Trigger(
            source=TriggerSource.SLACK, event_id=str(view.get("id", "")), requested_by=requester
        ).signed()
        async with self._prefect_client() as client:
            run = await arun_deployment(
                GRANT_DEPLOYMENT,
                parameters={
                    "spec": spec.model_dump(mode="json"),
                    "trigger": trigger.model_dump(mode="json"),
                    "requester_slack_id": user_id,
                },
                idempotency_key=f"slack-access:{view.get('id')}",
                timeout=0,
                as_subflow=False,
                client=client,
            )
        await self.tell(
            user_id,
            f"Request received: {spec.role} for {spec.email} on {spec.resource}. It waits for "
            f"an approver (not you); you will hear the outcome here. Run {run.id}.",
        )
        return run

    async def revoke_now(self, payload: dict[str, Any], grant_id: str) -> object:
        """Start an early revoke of ``grant_id`` for whoever clicked (the record names them)."""
        user_id = str(payload.get("user", {}).get("id", ""))
        clicker = await self.requester_email(user_id)
        if clicker is None or not grant_id:
            await self.tell(user_id, "Not revoked: Slack does not know you with an e-mail address.")
            return False
        async with self._prefect_client() as client:
            grant = await read_grant(client, grant_id)
            allowed = {grant.email.lower(), (grant.requested_by or "").lower()} if grant else set()
            if clicker.lower() not in allowed:
                await self.tell(user_id, f"Not revoked: only the person with the access or who "
                                f"asked for it may end grant {grant_id} here; an admin can run "
                                f"`arize-runbooks access revoke {grant_id}`.")
                return False
            run = await arun_deployment(
                REVOKE_DEPLOYMENT,
                parameters={"grant_id": grant_id, "early": True, "by": clicker},
                idempotency_key=f"revoke-early:{grant_id}",
                timeout=0,
                as_subflow=False,
                client=client,
            )
        await self.tell(user_id, f"Revoking grant {grant_id} now (run {run.id}).")
        return run


def build_access_handler(settings: Any, shared: Any | None) -> AccessRequestHandler | None:
    """The access-request handler from the service's settings (None without a bot token).

    Shaped like the interaction route's handler factories: listed in ``HANDLER_FACTORIES``.
    """
    from webhooks.approvals import prefect_client_factory

    token = getattr(settings, "slack_bot_token", None)
    if token is None:
        return None
    return AccessRequestHandler(
        bot_token=token.get_secret_value(),
        slack_base_url=getattr(settings, "slack_base_url", None),
        prefect_client=(lambda: shared)
        if shared is not None
        else prefect_client_factory(getattr(settings, "prefect_api_url", None)),
    )
