"""Temporary access requested in Slack: the modal, its submission, and "Revoke now".

``/arize-access`` (the service's ``POST /slack/commands``) opens :func:`request_modal`. Its
``view_submission`` and the "Revoke now" button reach ``POST /slack/interactions``, whose route
has verified Slack's signature, and are offered to :class:`AccessRequestHandler`. The handler
never grants anything itself: it starts ``grant-temporary-access`` or
``revoke-temporary-access`` through the durable inbox (the forwarder creates the run once,
even if Prefect is away when the person asks), with the requester (looked up in Slack, never
taken from the form) in a trigger signed by this service, and tells the requester in a DM.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from flows.slack_interactions import (
    InteractionContext,
    QueuedInteraction,
    RunRequest,
    look_up,
    tell_direct,
)
from flows.time_bound_access.notices import REVOKE_ACTION_ID
from flows.time_bound_access.records import read_grant
from flows.time_bound_access.spec import LONGEST_GRANT, GrantTemporaryAccessSpec
from tasks.triggers import Trigger, TriggerSource

logger = logging.getLogger(__name__)

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


class AccessOutcome(StrEnum):
    """What became of an access request or an early revoke."""

    QUEUED = "queued"
    DUPLICATE = "duplicate"
    REFUSED = "refused"
    ERROR = "error"


@dataclass(frozen=True)
class AccessAction:
    """A submitted request form, or a "Revoke now" click."""

    user_id: str
    view: dict[str, Any] | None = None
    grant_id: str | None = None

    @property
    def is_revoke(self) -> bool:
        """Whether this is the "Revoke now" button."""
        return self.view is None


@dataclass(frozen=True)
class AccessResult:
    """The outcome, what the person is told, and the inbox event it was stored as."""

    outcome: AccessOutcome
    text: str
    inbox_id: int | None = None


class AccessRequestHandler(QueuedInteraction[AccessAction, AccessResult]):
    """Acts on access-request submissions and "Revoke now" clicks; ignores everything else.

    Neither starts a run itself: each is stored in the durable inbox with its deployment and
    parameters, and the forwarder creates the run exactly once (keyed by the form's view id,
    or the grant id), however long Prefect is away.

    Args:
        queue: The service's durable run queue (its inbox).
    """

    kind = "Access request"

    async def requester_email(self, user_id: str) -> str | None:
        """The Slack user's e-mail; ``None`` when Slack does not know them (or no e-mail)."""
        try:
            person = await look_up(self.slack(), user_id)
        except SlackApiError:
            return None
        return person.email if person else None

    async def open_form(self, user_id: str, trigger_id: str) -> str | None:
        """Open the request form for ``/arize-access``: ``None`` when it opened, else what to
        answer the person (ephemerally)."""
        email = await self.requester_email(user_id)
        if email is None:
            return (
                "Refused: Slack does not know you with an e-mail address, so a request could "
                "not name who asked. Ask an Arize admin instead."
            )
        try:
            await self.slack().views_open(trigger_id=trigger_id, view=request_modal(email))
        except SlackApiError as ex:
            return f"Could not open the form ({ex.response.get('error')}); try again."
        return None

    def parse(self, payload: dict[str, Any]) -> AccessAction | None:
        user_id = str(payload.get("user", {}).get("id", ""))
        kind = payload.get("type")
        view = payload.get("view") or {}
        if kind == "view_submission" and view.get("callback_id") == CALLBACK_ID:
            return AccessAction(user_id=user_id, view=view)
        if kind == "block_actions":
            actions = payload.get("actions") or []
            if actions and actions[0].get("action_id") == REVOKE_ACTION_ID:
                return AccessAction(user_id=user_id, grant_id=str(actions[0].get("value", "")))
        return None

    async def decide(self, action: AccessAction, slack: AsyncWebClient) -> AccessResult:
        if action.is_revoke:
            return await self._revoke_now(action)
        return await self._submit(action)

    def failed(self, action: AccessAction) -> AccessResult:
        what = "revoked" if action.is_revoke else "requested"
        return AccessResult(
            AccessOutcome.ERROR,
            f"Something went wrong: nothing was {what}. Try again in a minute; if it keeps "
            "failing, ask an Arize admin.",
        )

    async def tell(self, slack: AsyncWebClient, action: AccessAction, result: AccessResult) -> None:
        await tell_direct(slack, action.user_id, result.text)

    def describe(self, action: AccessAction) -> str:
        if action.is_revoke:
            return f"by {action.user_id}: revoke grant {action.grant_id} now"
        return f"by {action.user_id}: form {(action.view or {}).get('id')}"

    def outcome(self, result: AccessResult) -> str:
        return result.outcome.value

    # -- the two actions ---------------------------------------------------------------------

    async def _submit(self, action: AccessAction) -> AccessResult:
        """Validate the form, then queue grant-temporary-access for the requester."""
        view = action.view or {}
        requester = await self.requester_email(action.user_id)
        if requester is None:
            return AccessResult(
                AccessOutcome.REFUSED,
                "Refused: Slack does not know you with an e-mail address, so nobody could tell "
                "who asked. Ask an admin to run it instead.",
            )
        try:
            spec = GrantTemporaryAccessSpec.model_validate(
                submitted_spec(view.get("state", {}).get("values", {}))
            )
        except ValidationError as ex:
            text = f"Refused, nothing was changed: {explain(ex)}."
            return AccessResult(AccessOutcome.REFUSED, text)
        except FormError as ex:
            return AccessResult(AccessOutcome.REFUSED, f"Refused, nothing was changed: {ex}.")
        trigger = Trigger(
            source=TriggerSource.SLACK, event_id=str(view.get("id", "")), requested_by=requester
        ).signed()
        spec_json = spec.model_dump(mode="json")
        stored, created = await self._queue_request(
            event_id=f"access-request:{view.get('id')}",
            event_type="access.request",
            deployment=GRANT_DEPLOYMENT,
            parameters={
                "spec": spec_json,
                "trigger": trigger.model_dump(mode="json"),
                "requester_slack_id": action.user_id,
            },
            payload={"spec": spec_json, "requester_slack_id": action.user_id},
        )
        if not created:
            return AccessResult(
                AccessOutcome.DUPLICATE,
                "This request was received already; you will hear its outcome here.",
                stored,
            )
        return AccessResult(
            AccessOutcome.QUEUED,
            f"Request received: {spec.role} for {spec.email} on {spec.resource}. It waits for "
            f"an approver (not you); you will hear the outcome here. Request {stored}.",
            stored,
        )

    async def _revoke_now(self, action: AccessAction) -> AccessResult:
        """Queue an early revoke of the grant for whoever clicked (the record names them)."""
        grant_id = action.grant_id or ""
        clicker = await self.requester_email(action.user_id)
        if clicker is None or not grant_id:
            return AccessResult(
                AccessOutcome.REFUSED,
                "Not revoked: Slack does not know you with an e-mail address.",
            )
        async with self._prefect() as client:
            grant = await read_grant(client, grant_id)
        allowed = {grant.email.lower(), (grant.requested_by or "").lower()} if grant else set()
        if clicker.lower() not in allowed:
            return AccessResult(
                AccessOutcome.REFUSED,
                f"Not revoked: only the person with the access or who asked for it may end "
                f"grant {grant_id} here; an admin can run "
                f"`arize-runbooks access revoke {grant_id}`.",
            )
        stored, created = await self._queue_request(
            event_id=f"revoke-early:{grant_id}",
            event_type="access.revoke_early",
            deployment=REVOKE_DEPLOYMENT,
            parameters={"grant_id": grant_id, "early": True, "by": clicker},
            payload={"grant_id": grant_id, "by": clicker},
        )
        if not created:
            return AccessResult(
                AccessOutcome.DUPLICATE, f"Grant {grant_id} is being revoked already.", stored
            )
        return AccessResult(AccessOutcome.QUEUED, f"Revoking grant {grant_id} now.", stored)

    async def _queue_request(
        self,
        *,
        event_id: str,
        event_type: str,
        deployment: str,
        parameters: dict[str, Any],
        payload: dict[str, Any],
    ) -> tuple[int, bool]:
        """Store the run to create (deduplicated by ``event_id``); its id and whether it is new."""
        return await self._queue(
            RunRequest(
                source=TriggerSource.SLACK,
                event_id=event_id,
                event_type=event_type,
                deployment=deployment,
                parameters=parameters,
                payload=payload,
            )
        )


def build_access_handler(context: InteractionContext) -> AccessRequestHandler | None:
    """The access-request handler (None without a bot token, or without the run queue)."""
    return AccessRequestHandler.from_context(context)
