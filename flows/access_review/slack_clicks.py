"""Keep / Revoke clicks on access-review messages: check, authorize, record, answer in Slack.

The route has already verified Slack's signature; this handler takes the parsed payload and
returns None for anything that is not a review click (``action_id`` ``review-keep`` or
``review-revoke``). A button's value names the review's flow run, the item and the item's hash;
the item is read from the run, never from the message, and the click counts only when

- the review is open (its manifest exists and it is not closed),
- the hash matches the stored item (a stale button of an older review, or a forged value, does
  not),
- the clicker's Slack e-mail (``users.info``) is one of the item's reviewers, and
- the clicker is not the grant's subject: nobody certifies their own access (the same
  ``refusal`` rule as approvals).

The first decision per item is the one that stands: it is stored as a run input whose key is
unique per item, so two reviewers clicking at once cannot both win.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from prefect.client.orchestration import PrefectClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.approvals.rules import VoteChannel, Voter
from flows.access_review import decisions as store
from flows.access_review.decisions import Decision, Verdict, refusal_of
from flows.access_review.messages import (
    KEEP_ACTION,
    REVOKE_ACTION,
    replace_item_block,
)
from flows.access_review.review import ReviewItem
from flows.slack_buttons import parse_button_click
from flows.slack_interactions import (
    InteractionContext,
    SlackInteraction,
    look_up,
    tell_ephemeral,
)

logger = logging.getLogger(__name__)

_ITEM_ID = re.compile(r"^[0-9a-f]{8,64}$")


class ReviewClickOutcome(StrEnum):
    """What became of a review click."""

    KEPT = "kept"
    REVOKED = "revoked"
    ALREADY_DECIDED = "already_decided"
    NOT_ALLOWED = "not_allowed"
    OWN_ACCESS = "own_access"
    STALE = "stale"
    CLOSED = "closed"
    ERROR = "error"


@dataclass(frozen=True)
class ReviewClick:
    """One Keep or Revoke click."""

    user_id: str
    user_name: str | None
    verdict: Verdict
    run_id: str
    item_id: str
    item_hash: str
    channel_id: str | None
    message_ts: str | None
    blocks: list[dict[str, Any]]
    text: str = ""

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ReviewClick | None:
        """The click in a ``block_actions`` payload, or None if it is not a review click."""
        click = parse_button_click(payload, {KEEP_ACTION, REVOKE_ACTION}, _ITEM_ID)
        if click is None:
            return None
        return cls(
            user_id=click.user_id,
            user_name=click.user_name,
            verdict=Verdict.KEEP if click.action_id == KEEP_ACTION else Verdict.REVOKE,
            run_id=click.run_id,
            item_id=click.key,
            item_hash=click.hash,
            channel_id=click.channel_id,
            message_ts=click.message_ts,
            blocks=list(click.message.get("blocks") or []),
            text=str(click.message.get("text") or ""),
        )


@dataclass(frozen=True)
class ReviewClickResult:
    """The outcome and what the clicker is told."""

    outcome: ReviewClickOutcome
    text: str
    decision: Decision | None = None


class ReviewClickHandler(SlackInteraction[ReviewClick, ReviewClickResult]):
    """Turns verified Keep / Revoke clicks into durable decisions on the review's flow run.

    Examples:
        ```python
        handler = ReviewClickHandler(bot_token="xoxb-…")
        result = await handler.handle(payload)   # after the route verified the signature
        ```
    """

    kind = "Review click"

    def parse(self, payload: dict[str, Any]) -> ReviewClick | None:
        return ReviewClick.from_payload(payload)

    def failed(self, action: ReviewClick) -> ReviewClickResult:
        return ReviewClickResult(
            ReviewClickOutcome.ERROR, "Something went wrong recording your decision; retry."
        )

    async def tell(
        self, slack: AsyncWebClient, action: ReviewClick, result: ReviewClickResult
    ) -> None:
        if result.decision is not None:
            await self._show(slack, action, result.decision)
        await tell_ephemeral(slack, action.channel_id, action.user_id, result.text)

    def describe(self, action: ReviewClick) -> str:
        return f"by {action.user_id} on run {action.run_id} item {action.item_id}"

    def outcome(self, result: ReviewClickResult) -> str:
        return result.outcome.value

    async def decide(self, action: ReviewClick, slack: AsyncWebClient) -> ReviewClickResult:
        """Check the button, authorize the clicker, and record the decision."""
        click = action
        async with self._prefect() as prefect:
            item = await self._check(prefect, click)
            if isinstance(item, ReviewClickResult):
                return item
            voter = await self._voter(slack, click)
            if voter is None:
                return ReviewClickResult(
                    ReviewClickOutcome.NOT_ALLOWED, "You are not a reviewer of this grant."
                )
            why = refusal_of(item, voter)
            if why is not None:
                own = item.subject_email is not None and item.subject_email in voter.identities()
                return ReviewClickResult(
                    ReviewClickOutcome.OWN_ACCESS if own else ReviewClickOutcome.NOT_ALLOWED,
                    "You may not decide your own access; another reviewer will."
                    if own
                    else "You are not a reviewer of this grant.",
                )
            decision = Decision(
                item_id=item.id,
                verdict=click.verdict,
                by=voter.email or voter.id,
                slack_user_id=click.user_id,
                at=self._clock(),
            )
            if not await store.record_decision(prefect, click.run_id, decision):
                first = await store.read_decision(prefect, click.run_id, item.id)
                who = f" by {first.by} ({first.verdict.value})" if first else ""
                return ReviewClickResult(
                    ReviewClickOutcome.ALREADY_DECIDED, f"This grant was already decided{who}."
                )
        kept = click.verdict is Verdict.KEEP
        return ReviewClickResult(
            ReviewClickOutcome.KEPT if kept else ReviewClickOutcome.REVOKED,
            f"Recorded: {'keep' if kept else 'revoke'} {item.grant} of {item.subject}."
            + ("" if kept else " It will go through the approval gate."),
            decision,
        )

    async def _check(
        self, prefect: PrefectClient, click: ReviewClick
    ) -> ReviewItem | ReviewClickResult:
        stale = ReviewClickResult(
            ReviewClickOutcome.STALE,
            "This button is out of date or not from a current review; use the newest message.",
        )
        manifest = await store.read_manifest(prefect, click.run_id)
        if manifest is None:
            return stale
        if await store.is_claimed(prefect, click.run_id, store.CLOSED_KEY):
            return ReviewClickResult(
                ReviewClickOutcome.CLOSED,
                f"Access review {manifest.review_id} is closed; decisions are no longer taken.",
            )
        item = await store.read_item(prefect, click.run_id, click.item_id)
        if item is None or item.hash != click.item_hash:
            return stale
        return item

    async def _voter(self, slack: AsyncWebClient, click: ReviewClick) -> Voter | None:
        person = await look_up(slack, click.user_id)
        if person is None or person.is_restricted:
            return None
        return Voter(
            channel=VoteChannel.SLACK, id=click.user_id, email=person.email, name=click.user_name
        )

    async def _show(self, slack: AsyncWebClient, click: ReviewClick, decision: Decision) -> None:
        if not click.channel_id or not click.message_ts or not click.blocks:
            return
        blocks = replace_item_block(click.blocks, click.item_id, decision)
        # The fallback text stays the message's own: it names the reviewer and the review.
        text = click.text or f"Access review: {decision.verdict.value} by {decision.by}"
        try:
            await slack.chat_update(
                channel=click.channel_id, ts=click.message_ts, text=text, blocks=blocks
            )
        except SlackApiError as ex:
            logger.warning("Could not update review message: %s", ex.response.get("error"))


def build_review_handler(context: InteractionContext) -> ReviewClickHandler | None:
    """The review click handler (None without a bot token)."""
    token = context.settings.slack_bot_token
    if token is None:
        return None
    return ReviewClickHandler(
        bot_token=token.get_secret_value(),
        slack_base_url=context.settings.slack_base_url,
        prefect_client=context.prefect_client,
    )
