"""What a click on an approval message does: check, authorize, vote, decide, answer in Slack.

No HTTP framework here: the route verifies Slack's signature, acknowledges, and hands the parsed
payload to :meth:`SlackApprovalHandler.handle` in the background. Everything durable lives on
the flow run (the request and one run input per vote), so a restart of the service between two
votes loses nothing, and Prefect's orchestration decides which of several concurrent deciding
clicks wins (only one resume is ``ACCEPT``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.responses import SetStateStatus
from prefect.exceptions import ObjectNotFound
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.approvals.decision import current_verdict
from core.approvals.requests import ApprovalDecision, ApprovalRequest
from core.approvals.rules import (
    Outcome,
    Subjects,
    Vote,
    VoteChannel,
    Voter,
    held_refusal,
    refusal,
)
from flows.slack_buttons import parse_button_click
from flows.slack_interactions import SlackInteraction, look_up, tell_ephemeral
from tasks.approvals.answer import ApprovalAnswer
from tasks.approvals.directory import resolve_directory
from tasks.approvals.resume import resume_when_waiting, settled
from tasks.approvals.slack_blocks import (
    APPROVE_ACTION,
    REJECT_ACTION,
    decided_message,
)
from tasks.approvals.store import (
    PrefectVoteStore,
    read_request,
    read_votes,
    record_vote,
    sign_vote,
)

logger = logging.getLogger(__name__)

_GATE = re.compile(r"^[a-z0-9-]+$")

class ClickOutcome(StrEnum):
    """What became of a click."""

    APPROVED = "approved"
    REJECTED = "rejected"
    RECORDED = "recorded"
    ALREADY_VOTED = "already_voted"
    ALREADY_DECIDED = "already_decided"
    NOT_ALLOWED = "not_allowed"
    STALE = "stale"
    EXPIRED = "expired"
    ERROR = "error"


@dataclass(frozen=True)
class Click:
    """One button click, as far as the approval gate cares."""

    user_id: str
    user_name: str | None
    action_id: str
    run_id: str
    gate: str
    plan_hash: str
    channel_id: str | None
    message_ts: str | None

    @property
    def approve(self) -> bool:
        """Whether this is the Approve button."""
        return self.action_id == APPROVE_ACTION

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Click | None:
        """The click in a ``block_actions`` payload, or ``None`` if it is not one of ours.

        Args:
            payload: The JSON of the form field ``payload``.

        Returns:
            The click, or ``None``.
        """
        click = parse_button_click(payload, {APPROVE_ACTION, REJECT_ACTION}, _GATE)
        if click is None:
            return None
        return cls(
            user_id=click.user_id,
            user_name=click.user_name,
            action_id=click.action_id,
            run_id=click.run_id,
            gate=click.key,
            plan_hash=click.hash,
            channel_id=click.channel_id,
            message_ts=click.message_ts,
        )


@dataclass(frozen=True)
class ClickResult:
    """The outcome of a click and what the clicker is told (ephemerally)."""

    outcome: ClickOutcome
    text: str
    decision: ApprovalDecision | None = None
    request: ApprovalRequest | None = None


def prefect_client_factory(api_url: str | None = None) -> Callable[[], PrefectClient]:
    """A factory of Prefect clients for ``api_url``, or Prefect's configured API if ``None``.

    Args:
        api_url: The Prefect API, e.g. ``http://127.0.0.1:4200/api``.

    Returns:
        A callable returning a new (unopened) client.
    """
    if not api_url:
        return get_client

    def factory() -> PrefectClient:
        from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_KEY

        return PrefectClient(
            api_url, auth_string=PREFECT_API_AUTH_STRING.value(), api_key=PREFECT_API_KEY.value()
        )

    return factory


class SlackApprovalHandler(SlackInteraction[Click, ClickResult]):
    """Turns verified Slack clicks into votes and decisions on paused flow runs.

    Decisions update the approval message in place (buttons removed, verdict, who and when);
    everything else is told to the clicker in an ephemeral message.

    Examples:
        ```python
        handler = SlackApprovalHandler(bot_token="xoxb-…", slack_base_url=None)
        result = await handler.handle(payload)   # after verifying the request's signature
        ```
    """

    kind = "Approval click"

    def parse(self, payload: dict[str, Any]) -> Click | None:
        return Click.from_payload(payload)

    def failed(self, action: Click) -> ClickResult:
        return ClickResult(
            ClickOutcome.ERROR, "Something went wrong recording your click; try again."
        )

    async def tell(self, slack: AsyncWebClient, action: Click, result: ClickResult) -> None:
        if result.decision is not None and result.request is not None:
            await self._show_decision(slack, action, result.request, result.decision)
        else:
            await tell_ephemeral(slack, action.channel_id, action.user_id, result.text)

    def describe(self, action: Click) -> str:
        return f"by {action.user_id} on run {action.run_id} gate {action.gate}"

    def outcome(self, result: ClickResult) -> str:
        return result.outcome.value

    async def decide(self, action: Click, slack: AsyncWebClient) -> ClickResult:
        """Check, authorize, record the vote and, on a decision, resume the run.

        Returns:
            The outcome; ``decision`` is set only for the one click whose resume was accepted.
        """
        click = action
        async with self._prefect() as prefect:
            refusal, request = await self._check_waiting(prefect, click)
            if refusal is not None:
                return refusal
            assert request is not None
            voter = await self._authorize(slack, click, request)
            if isinstance(voter, ClickResult):
                return voter
            held = held_refusal(request.held, approved=click.approve)
            if held is not None:
                return ClickResult(
                    ClickOutcome.NOT_ALLOWED,
                    f"Your click was not recorded as a vote: {held}. A person named for "
                    "break-glass runs `arize-runbooks approve --break-glass`.",
                    None,
                    request,
                )
            vote = sign_vote(
                click.run_id,
                click.gate,
                Vote(
                    voter=voter,
                    approved=click.approve,
                    plan_hash=click.plan_hash,
                    at=self._clock(),
                ),
            )
            if not await record_vote(prefect, click.run_id, click.gate, vote):
                return await self._already_voted(prefect, click, request, voter)
            return await self._maybe_decide(prefect, slack, click, request, vote)

    # -- steps -------------------------------------------------------------------------------

    async def _check_waiting(
        self, prefect: PrefectClient, click: Click
    ) -> tuple[ClickResult | None, ApprovalRequest | None]:
        try:
            run = await settled(prefect, UUID(click.run_id))
        except ObjectNotFound:
            return ClickResult(ClickOutcome.STALE, "This request no longer exists."), None
        state = run.state
        request = await read_request(prefect, click.run_id, click.gate)
        if request is None or request.plan_hash != click.plan_hash:
            return (
                ClickResult(
                    ClickOutcome.STALE,
                    "This message is out of date: the plan changed. Use the newest request.",
                ),
                None,
            )
        if state is None or not state.is_paused():
            name = state.name if state else "unknown"
            if request.expires_at <= self._clock() and state is not None and state.is_failed():
                return ClickResult(
                    ClickOutcome.EXPIRED,
                    "This request expired without a decision, so it was rejected.",
                ), None
            return (
                ClickResult(
                    ClickOutcome.ALREADY_DECIDED,
                    f"This request was already decided, expired or cancelled (run is {name}).",
                ),
                None,
            )
        key = state.state_details.pause_key or ""
        # A gate that was resumed without a decision waits again as "<gate>-r<n>".
        if key != click.gate and not key.startswith(f"{click.gate}-r"):
            return (
                ClickResult(
                    ClickOutcome.STALE,
                    "This button is for another step: the run is waiting on a different approval.",
                ),
                None,
            )
        timeout = state.state_details.pause_timeout
        now = self._clock()
        if request.expires_at <= now or (timeout is not None and timeout <= now):
            return ClickResult(
                ClickOutcome.EXPIRED,
                "This request has expired; a timeout means rejected.",
            ), None
        return None, request

    async def _already_voted(
        self, prefect: PrefectClient, click: Click, request: ApprovalRequest, voter: Voter
    ) -> ClickResult:
        """The clicker's key holds a vote: say through which path, and that this click counts
        for nothing (one vote per person and request)."""
        votes = await read_votes(prefect, click.run_id, click.gate)
        earlier = [v for v in votes if v.voter.key == voter.key]
        how = ""
        if earlier:
            answer = "an approval" if earlier[0].approved else "a rejection"
            how = f" ({answer} via {earlier[0].voter.channel.value})"
        return ClickResult(
            ClickOutcome.ALREADY_VOTED,
            f"You already voted on this request{how}; this click counts for nothing.",
            None,
            request,
        )

    async def _authorize(
        self, slack: AsyncWebClient, click: Click, request: ApprovalRequest
    ) -> Voter | ClickResult:
        """The clicker as a voter if the policy lets them decide, else the refusal.

        The policy is the one the request was asked under; the flow re-checks every vote
        against its own policy before it applies anything.
        """
        refused = ClickResult(
            ClickOutcome.NOT_ALLOWED,
            "You are not allowed to approve or reject this request; your click was not "
            "recorded as a vote.",
            None,
            request,
        )
        person = await look_up(slack, click.user_id)
        if person is None or person.is_restricted:
            return refused
        voter = Voter(
            channel=VoteChannel.SLACK, id=click.user_id, email=person.email, name=click.user_name
        )
        subjects = Subjects.of(request.protected, request.requested_by)
        directory = await resolve_directory(request.policy, slack)
        why = refusal(request.policy, voter, subjects, directory)
        if why is None:
            return voter
        if voter.identities() & (subjects.protected | {subjects.requested_by}):
            return ClickResult(
                ClickOutcome.NOT_ALLOWED,
                "You may not decide this request: you asked for it or it concerns you. Your "
                "click was not recorded as a vote.",
                None,
                request,
            )
        return ClickResult(
            ClickOutcome.NOT_ALLOWED,
            f"Your click was not recorded as a vote: {why}.",
            None,
            request,
        )

    async def _maybe_decide(
        self,
        prefect: PrefectClient,
        slack: AsyncWebClient,
        click: Click,
        request: ApprovalRequest,
        vote: Vote,
    ) -> ClickResult:
        voter = vote.voter.describe()
        if not vote.approved:
            decision = ApprovalDecision(
                approved=False, approver=click.user_id, approvers=[click.user_id]
            )
        else:
            verdict = await current_verdict(
                request,
                await resolve_directory(request.policy, slack),
                PrefectVoteStore(prefect, click.run_id),
            )
            if verdict.outcome is not Outcome.APPROVED:
                needed = "a break-glass approval" if request.held else f"{request.quorum} needed"
                return ClickResult(
                    ClickOutcome.RECORDED,
                    f"Your approval is recorded: {len(verdict.approvers)} so far, {needed}.",
                    None,
                    request,
                )
            decision = ApprovalDecision(
                approved=True,
                approver=click.user_id,
                approvers=[v.id for v in verdict.approvers],
            )
        answer = ApprovalAnswer(
            approved=vote.approved, approver=click.user_id, comment=f"via Slack by {voter}"
        )
        result = await resume_when_waiting(
            prefect, UUID(click.run_id), answer.model_dump(mode="json")
        )
        if result.status == SetStateStatus.ACCEPT:
            outcome = ClickOutcome.APPROVED if decision.approved else ClickOutcome.REJECTED
            return ClickResult(outcome, f"Request {outcome.value}.", decision, request)
        reason = getattr(result.details, "reason", None) or result.status.value
        if result.state is not None and result.state.is_failed():
            return ClickResult(
                ClickOutcome.EXPIRED,
                "Your vote was stored, but the request had expired (rejected); it counts for "
                "nothing.",
                None,
                request,
            )
        if result.status == SetStateStatus.ABORT:
            return ClickResult(
                ClickOutcome.ALREADY_DECIDED,
                "Your vote was stored, but the request was already decided; it counts for "
                "nothing.",
                None,
                request,
            )
        logger.warning("Resume of run %s refused: %s", click.run_id, reason)
        return ClickResult(
            ClickOutcome.STALE,
            f"Your vote was recorded, but the run could not be resumed: {reason}",
            None,
            request,
        )

    # -- answers in Slack ------------------------------------------------------------------

    async def _show_decision(
        self,
        slack: AsyncWebClient,
        click: Click,
        request: ApprovalRequest,
        decision: ApprovalDecision,
    ) -> None:
        channel = request.channel or click.channel_id
        ts = request.message_ts or click.message_ts
        if not channel or not ts:
            return
        message = decided_message(
            request,
            approved=decision.approved,
            decided_by=decision.approver,
            approvers=decision.approvers,
            at=self._clock(),
        )
        try:
            await slack.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=message.blocks
            )
        except SlackApiError as ex:
            logger.warning(
                "Could not update the approval message of run %s: %s",
                click.run_id,
                ex.response.get("error"),
            )
