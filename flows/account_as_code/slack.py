"""Drift in Slack: one message per new drift, with Revert and Adopt, and the patch in its thread.

The buttons carry ``run_id|account-drift|hash``: the detect-drift run that found the drift and
the hash of the plan it posted, so a click on an outdated message can be told apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from prefect.exceptions import ObjectNotFound
from prefect.runtime import flow_run
from slack_sdk.web.async_client import AsyncWebClient

from blocks.slack import SlackApprovals
from core.planning.plan import Plan
from flows.account_as_code.drift import DriftSource
from flows.slack_buttons import ButtonClick, parse_button_click
from flows.slack_interactions import (
    InteractionContext,
    QueuedInteraction,
    RunRequest,
    look_up,
    tell_ephemeral,
)
from tasks.approvals.slack_blocks import redact
from tasks.triggers import TriggerSource

REVERT = "account_drift_revert"
ADOPT = "account_drift_adopt"
SHOWN = 20
"""Changes listed in the message; the artifact has them all."""


def drift_blocks(source: DriftSource, plan: Plan, run_id: str) -> list[dict]:
    """The message: what drifted, and the two buttons."""
    lines = [f"• {c.describe()}" + (" _(gated)_" if c.destructive else "")
             for c in plan.changes[:SHOWN]]
    if len(plan.changes) > SHOWN:
        lines.append(f"… and {len(plan.changes) - SHOWN} more (see the run's artifact)")
    value = f"{run_id}|account-drift|{plan.hash[:16]}"
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*Account drift* from `{source.describe()}`: the account differs from "
                f"the files in {len(plan.changes)} way(s).\n" + "\n".join(lines),
            },
        },
        {
            "type": "actions",
            "block_id": "account-drift-actions",
            "elements": [
                {"type": "button", "action_id": REVERT, "style": "danger", "value": value,
                 "text": {"type": "plain_text", "text": "Revert"}},
                {"type": "button", "action_id": ADOPT, "style": "primary", "value": value,
                 "text": {"type": "plain_text", "text": "Adopt"}},
            ],
        },
    ]


async def post_drift(slack: SlackApprovals, source: DriftSource, plan: Plan, patch: str) -> None:
    """Post the drift, then the adopt patch in its thread."""
    client = slack.get_client()
    run_id = str(flow_run.id or "")
    text = f"Account drift from {source.describe()}: {len(plan.changes)} change(s)"
    response = await client.chat_postMessage(
        channel=slack.channel, text=text, blocks=drift_blocks(source, plan, run_id)
    )
    thread = response.get("ts")
    body = patch.rstrip() or "(nothing to patch in these files)"
    await client.chat_postMessage(
        channel=response.get("channel") or slack.channel,
        thread_ts=thread,
        text=redact(f"Adopt: apply this patch to the files\n```\n{body[:35000]}\n```"),
    )


# -- the clicks --------------------------------------------------------------------------------

DRIFT_DEPLOYMENT = "detect-drift/detect-drift"
_KEY = re.compile(r"^account-drift$")


class DriftOutcome(StrEnum):
    """What became of a click on a drift message."""

    REVERT_QUEUED = "revert_queued"
    DUPLICATE = "duplicate"
    ADOPT_SHOWN = "adopt_shown"
    NOT_ALLOWED = "not_allowed"
    GONE = "gone"
    ERROR = "error"


@dataclass(frozen=True)
class DriftResult:
    outcome: DriftOutcome
    text: str


class DriftClickHandler(QueuedInteraction[ButtonClick, DriftResult]):
    """Revert queues a detect-drift run that re-plans and, if the drift is still the one
    posted, applies the files through apply-account's gate; Adopt points at the patch.

    The run is created by the webhook service's inbox (deduplicated per drift), so a double
    click or a retried delivery reverts once. Anyone in the workspace may ask for a revert, as
    anyone may start a runbook: its destructive changes still wait for the policy's approvers.
    """

    kind = "Drift click"

    def parse(self, payload: dict[str, Any]) -> ButtonClick | None:
        return parse_button_click(payload, {REVERT, ADOPT}, _KEY)

    def failed(self, action: ButtonClick) -> DriftResult:
        return DriftResult(DriftOutcome.ERROR, "Something went wrong; click again in a minute.")

    async def tell(self, slack: AsyncWebClient, action: ButtonClick, result: DriftResult) -> None:
        await tell_ephemeral(slack, action.channel_id, action.user_id, result.text)

    def describe(self, action: ButtonClick) -> str:
        return f"{action.action_id} by {action.user_id} on run {action.run_id}"

    def outcome(self, result: DriftResult) -> str:
        return result.outcome.value

    async def decide(self, action: ButtonClick, slack: AsyncWebClient) -> DriftResult:
        person = await look_up(slack, action.user_id)
        if person is None or person.is_restricted or person.email is None:
            return DriftResult(DriftOutcome.NOT_ALLOWED, "Only workspace members may do that.")
        if action.action_id == ADOPT:
            return DriftResult(
                DriftOutcome.ADOPT_SHOWN,
                "The patch that adopts this drift is in this message's thread and in the "
                f"artifact of run {action.run_id}: apply it to the files and merge it.",
            )
        async with self._prefect() as prefect:
            try:
                run = await prefect.read_flow_run(UUID(action.run_id))
            except ObjectNotFound:
                return DriftResult(DriftOutcome.GONE, "That drift run no longer exists.")
        parameters = {
            "source": run.parameters.get("source"),
            "policy": run.parameters.get("policy", "default"),
            "name": run.parameters.get("name", "default"),
            "revert": action.hash,
            "requested_by": person.email,
        }
        _, created = await self._queue(
            RunRequest(
                source=TriggerSource.SLACK,
                event_id=f"drift-revert:{action.run_id}:{action.hash}",
                event_type="account.drift_revert",
                deployment=DRIFT_DEPLOYMENT,
                parameters=parameters,
                payload={"run_id": action.run_id, "by": person.email},
            )
        )
        if not created:
            return DriftResult(DriftOutcome.DUPLICATE, "A revert of this drift is under way.")
        return DriftResult(
            DriftOutcome.REVERT_QUEUED,
            "Reverting: the files are planned again and applied; anything destructive waits "
            "for approval here.",
        )


def build_drift_handler(context: InteractionContext) -> DriftClickHandler | None:
    """The drift click handler (None without a bot token, or without the run queue)."""
    return DriftClickHandler.from_context(context)
