"""The approval gate's decisions, without Prefect: how long to wait, what the votes say, what to
tell people.

The Prefect gate (``tasks/approvals/gate.py``) does the waiting (pause, hold then suspend) and
calls these with its adapters; everything that decides lives here and takes the ports of
``core.approvals.ports``: a :class:`Clock` for expiry and the hold, a :class:`VoteStore` for the
durable votes, a :class:`Notifier` for Slack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.approvals.ports import Clock, Notifier, VoteStore
from core.approvals.requests import ApprovalDecision, ApprovalRequest
from core.approvals.rules import (
    ApprovalPolicy,
    Directory,
    Subjects,
    Verdict,
    Vote,
    VoteChannel,
    Voter,
    evaluate,
    held_refusal,
    refusal,
    ui_votes_in_words,
    who_may_approve,
)

#: Prefect keeps state messages short in its UI; the rules come first, then the last refusal.
MAX_STATE_MESSAGE = 1000


class FormAnswer(Protocol):
    """What woke the gate: the resume form's fields (``tasks.approvals.answer.ApprovalAnswer``)."""

    approved: bool
    approver: str
    comment: str


def remaining_seconds(request: ApprovalRequest, clock: Clock) -> int:
    """Whole seconds left before the request expires; zero or less means it has."""
    return int((request.expires_at - clock.now()).total_seconds())


def hold_seconds(rules: ApprovalPolicy, request: ApprovalRequest, clock: Clock) -> int:
    """How long a deployment run waits in its own process before it suspends.

    The policy's ``hold_seconds``, cut to what is left of the request: a hold never outlives
    the request, and zero or less means suspend (or expire) at once.
    """
    return min(rules.hold_seconds, remaining_seconds(request, clock))


def expiry_message(request: ApprovalRequest) -> str:
    """Why a gate that nobody decided in time applied nothing."""
    return (
        f"no decision on plan {request.plan_hash[:12]} by "
        f"{request.expires_at:%Y-%m-%d %H:%M:%S} UTC; treated as rejected, nothing was applied"
    )


async def judge(
    rules: ApprovalPolicy,
    request: ApprovalRequest,
    subjects: Subjects,
    directory: Directory,
    answer: FormAnswer,
    *,
    plan_hash: str,
    held: str | None,
    store: VoteStore,
    clock: Clock,
) -> Verdict:
    """Record a form answer from someone without a vote as a UI vote; judge every vote."""
    votes = await store.read_votes(request.gate)
    answer_refused = await record_form_answer(
        rules, request, subjects, directory, answer, votes, plan_hash=plan_hash, store=store,
        clock=clock,
    )
    if answer_refused is None:
        votes = await store.read_votes(request.gate)
    verdict = tally(rules, request, subjects, directory, votes, store, plan_hash=plan_hash,
                    held=held is not None)  # fmt: skip
    if answer_refused:
        verdict.refused.insert(0, answer_refused)
    if held and not verdict.decided:
        verdict.refused.append(f"the run is held for break-glass approval: {held}")
    return verdict


def tally(
    rules: ApprovalPolicy,
    request: ApprovalRequest,
    subjects: Subjects,
    directory: Directory,
    votes: list[Vote],
    store: VoteStore,
    *,
    plan_hash: str,
    held: bool,
) -> Verdict:
    """What the stored votes say under ``rules``, counting only the authentic ones.

    The one count of votes: the gate judges with it before it applies anything, and the Slack
    click handler with it to know whether a click decides (and so resumes the run).
    """
    authentic = {
        index for index, vote in enumerate(votes) if store.is_authentic(request.gate, vote)
    }
    return evaluate(
        rules, votes, subjects, directory, plan_hash=plan_hash, held=held, authentic=authentic
    )


async def current_verdict(
    request: ApprovalRequest, directory: Directory, store: VoteStore
) -> Verdict:
    """The verdict of the votes stored on ``request``'s gate under the policy it was asked
    under (what a click handler knows; the gate re-judges under its own policy)."""
    votes = await store.read_votes(request.gate)
    return tally(
        request.policy,
        request,
        Subjects.of(request.protected, request.requested_by),
        directory,
        votes,
        store,
        plan_hash=request.plan_hash,
        held=request.held is not None,
    )


async def record_form_answer(
    rules: ApprovalPolicy,
    request: ApprovalRequest,
    subjects: Subjects,
    directory: Directory,
    answer: FormAnswer,
    votes: list[Vote],
    *,
    plan_hash: str,
    store: VoteStore,
    clock: Clock,
) -> str | None:
    """Record the answer that woke the gate as a UI vote, if it is one the policy counts.

    An answer from a Slack or CLI voter comes with their stored vote and is not a vote itself.
    Any other answer is a Prefect UI (or raw API) answer: it is stored only when the policy
    lets it count, so a refused answer never takes the key of the person it names.

    Returns:
        ``None`` when there was nothing to refuse, else why the answer counts for nothing.
    """
    claimed = answer.approver.strip().lower()
    own = [vote for vote in votes if claimed in vote.voter.identities()]
    if own and own[0].approved != answer.approved:
        # Not the resume that came with their vote: a second, different answer.
        earlier = "an approval" if own[0].approved else "a rejection"
        return (
            f"an answer by {claimed} counts for nothing: they already voted ({earlier} via "
            f"{own[0].voter.channel.value})"
        )
    if not claimed or own:
        return None
    shown = answer.approver.strip()[:120]
    if "@" not in claimed:
        return (
            f"a Prefect UI answer as {shown!r} was refused and not recorded: the approver "
            "field must be your e-mail"
        )
    voter = Voter(channel=VoteChannel.UI, id=claimed, email=claimed)
    why = refusal(rules, voter, subjects, directory) or held_refusal(
        request.held, approved=answer.approved
    )
    if why is not None:
        return f"a Prefect UI answer was refused and not recorded as a vote: {why}"
    ui_vote = Vote(
        voter=voter,
        approved=answer.approved,
        plan_hash=plan_hash,
        at=clock.now(),
        reason=answer.comment,
    )
    if not await store.record_vote(request.gate, ui_vote):
        return f"a Prefect UI answer by {claimed} counts for nothing: they already voted"
    return None


@dataclass(frozen=True)
class Decided:
    """A decided gate: the decision, and the voters it names (first: who decided)."""

    decision: ApprovalDecision
    voters: list[Voter]


def decision_of(verdict: Verdict) -> Decided:
    """The decision a decided verdict makes: approved unless rejected, break-glass first."""
    approved = verdict.break_glass is not None or verdict.rejected_by is None
    voters = [verdict.rejected_by] if verdict.rejected_by else verdict.approvers
    if verdict.break_glass is not None:
        voters = [verdict.break_glass.voter]
    decision = ApprovalDecision(
        approved=approved,
        approver=verdict.summary(),
        comment=verdict.break_glass.reason if verdict.break_glass else "",
        approvers=[v.email or v.id for v in voters if v is not None],
        break_glass=verdict.break_glass is not None,
        refused=verdict.refused,
    )
    return Decided(decision=decision, voters=[v for v in voters if v is not None])


async def tell_decided(
    request: ApprovalRequest, decided: Decided, verdict: Verdict, notifier: Notifier
) -> None:
    """Show the decision on the request's message; a break-glass one goes to the channel."""
    # The message names people as Slack mentions where it can (ids), else by e-mail.
    voters = decided.voters
    shown = decided.decision
    if voters:  # always, for a decided verdict: a rejecter, a break-glass voter or approvers
        shown = shown.model_copy(
            update={"approver": voters[0].id, "approvers": [v.id for v in voters]}
        )
    await notifier.decided(request, shown)
    if decided.decision.break_glass:
        await notifier.announce(
            request,
            f":rotating_light: *BREAK-GLASS* for {request.runbook} {request.subject}: "
            f"{verdict.summary()}",
            broadcast=True,
        )


def refused_text(verdict: Verdict) -> str:
    """Why the gate still waits: progress short of the quorum, or what did not count."""
    if verdict.refused:
        return (
            f":no_entry: An answer did not count ({verdict.summary()} so far): "
            + "; ".join(verdict.refused)
        )
    return f"Vote recorded: {verdict.summary()}; waiting for more."


async def tell_refused(
    request: ApprovalRequest, attempt: int, verdict: Verdict, store: VoteStore, notifier: Notifier
) -> str:
    """Say once per attempt, in the request's thread, why the gate still waits.

    A vote short of the quorum is progress; anything that did not count is a refused attempt
    and is shown in the channel too.

    Returns:
        The line the run's history (and finally its report) keeps for this attempt.
    """
    text = refused_text(verdict)
    if await store.claim_note(f"{request.gate}-refused-{attempt}"):
        await notifier.announce(request, text, broadcast=bool(verdict.refused))
    return f"woken at attempt {attempt + 1}: {text.removeprefix(':no_entry: ')}"


def rules_in_words(
    rules: ApprovalPolicy, request: ApprovalRequest, *, slack_configured: bool
) -> tuple[str, str, str]:
    """Who may approve, whether UI answers count, and the expiry: the policy that judges."""
    return (
        who_may_approve(rules, held=request.held is not None),
        ui_votes_in_words(rules, slack_configured=slack_configured),
        f"{request.expires_at:%Y-%m-%d %H:%M:%S} UTC",
    )


def wait_state_message(
    rules: ApprovalPolicy, request: ApprovalRequest, history: list[str], *, slack_configured: bool
) -> str:
    """The waiting state's message on the run's page: who may approve, by when, and why the
    last answer did not count."""
    who, ui, expires = rules_in_words(rules, request, slack_configured=slack_configured)
    text = f"Waiting for approval until {expires} by {who}. {ui}."
    if history:
        text = f"{text} Last answer: {history[-1]}"
    return text[:MAX_STATE_MESSAGE]
