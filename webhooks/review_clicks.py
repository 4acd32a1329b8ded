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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from prefect.client.orchestration import PrefectClient, get_client
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.slack import slack_web_client
from core.approvals.rules import VoteChannel, Voter
from flows.access_review import decisions as store
from flows.access_review.decisions import Decision, Verdict, refusal_of
from flows.access_review.messages import (
    KEEP_ACTION,
    REVOKE_ACTION,
    replace_item_block,
)
from flows.access_review.review import ReviewItem
from webhooks.buttons import parse_button_click

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


class ReviewClickHandler:
    """Turns verified Keep / Revoke clicks into durable decisions on the review's flow run.

    Examples:
        ```python
        handler = ReviewClickHandler(bot_token="xoxb-…")
        result = await handler.handle(payload)   # after the route verified the signature
        ```
    """

    def __init__(
        self,
        *,
        bot_token: str,
        slack_base_url: str | None = None,
        prefect_client: Callable[[], PrefectClient] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Configure the handler.

        Args:
            bot_token: Slack bot token, for ``users.info`` and message updates.
            slack_base_url: Slack Web API base URL (the emulator's in tests).
            prefect_client: Factory of Prefect clients; Prefect's configured API by default.
            clock: Now, in UTC.
        """
        self._slack: Callable[[], AsyncWebClient] = lambda: slack_web_client(
            bot_token, slack_base_url
        )
        self._prefect = prefect_client or get_client
        self._clock = clock

    async def handle(self, payload: dict[str, Any]) -> ReviewClickResult | None:
        """Process one verified payload; None when it is not a review click."""
        click = ReviewClick.from_payload(payload)
        if click is None:
            return None
        slack = self._slack()
        try:
            result = await self.decide(click, slack)
        except Exception:
            logger.exception("Review click on run %s item %s failed", click.run_id, click.item_id)
            result = ReviewClickResult(
                ReviewClickOutcome.ERROR, "Something went wrong recording your decision; retry."
            )
        if result.decision is not None:
            await self._show(slack, click, result.decision)
        await self._tell(slack, click, result.text)
        logger.info(
            "Review click by %s on run %s item %s: %s",
            click.user_id,
            click.run_id,
            click.item_id,
            result.outcome.value,
        )
        return result

    async def decide(
        self, click: ReviewClick, slack: AsyncWebClient | None = None
    ) -> ReviewClickResult:
        """Check the button, authorize the clicker, and record the decision."""
        slack = slack or self._slack()
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
        try:
            user = (await slack.users_info(user=click.user_id))["user"]
        except SlackApiError as ex:
            if ex.response.get("error") == "user_not_found":
                return None
            raise
        if user.get("deleted") or user.get("is_bot") or user.get("is_restricted"):
            return None
        email = ((user.get("profile") or {}).get("email") or "").lower() or None
        return Voter(channel=VoteChannel.SLACK, id=click.user_id, email=email, name=click.user_name)

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

    async def _tell(self, slack: AsyncWebClient, click: ReviewClick, text: str) -> None:
        if not click.channel_id:
            return
        try:
            await slack.chat_postEphemeral(channel=click.channel_id, user=click.user_id, text=text)
        except SlackApiError as ex:
            logger.warning("Could not answer %s: %s", click.user_id, ex.response.get("error"))


def build_review_handler(settings: Any, shared: Any | None) -> ReviewClickHandler | None:
    """The review click handler from the service's settings (None without a bot token).

    Shaped like the route's handler factories: list it in ``HANDLER_FACTORIES``.
    """
    token = getattr(settings, "slack_bot_token", None)
    if token is None:
        return None
    return ReviewClickHandler(
        bot_token=token.get_secret_value(),
        slack_base_url=getattr(settings, "slack_base_url", None),
        # The lifespan's client is re-entrant: each click enters it without closing it.
        prefect_client=(lambda: shared) if shared is not None else None,
    )
