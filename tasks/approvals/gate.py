"""The approval gate: ask, wait, and decide only on durable votes that satisfy the policy.

Deployment runs first hold: they pause in their own process for the policy's ``hold_seconds``,
so an answer within it resumes the live process in about a second; then they suspend (the
process exits, nothing is held while people take hours, and an answer costs a new flow-run
process). Local runs and tests pause for the whole timeout.
Whatever resumes the run (a Slack click, ``arize-runbooks approve``, the Prefect UI's form, a
raw API call) only wakes it: the flow then reads the votes stored on the run and judges them
with :mod:`core.approvals.rules`. A form answer from someone without a vote is recorded as a
UI vote and judged like any other. When the votes do not decide, the refusal goes to the log,
the Slack thread and finally the report, and the gate waits again (under a new pause key, since
Prefect answers a used key from its stored input) until the request's original expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any
from uuid import UUID

from prefect import get_client, get_run_logger
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import StateType
from prefect.events import emit_event
from prefect.exceptions import FlowPauseTimeout, ObjectNotFound, PrefectHTTPStatusError
from prefect.flow_runs import apause_flow_run, asuspend_flow_run
from prefect.input.run_input import keyset_from_base_key
from prefect.runtime import deployment, flow_run
from prefect.states import Running
from pydantic import Field, create_model

from blocks.policy import RunbookPolicy
from core.approvals.metrics import BREAK_GLASS_APPROVALS
from core.approvals.requests import ApprovalDecision, ApprovalRequest
from core.approvals.rules import (
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
from core.planning.plan import Plan
from tasks.approvals.answer import ApprovalAnswer
from tasks.approvals.directory import resolve_directory
from tasks.approvals.slack_crash import disable_buttons_on_crash, reopen_request
from tasks.approvals.slack_messages import (
    mark_decided,
    mark_expired,
    post_approval_request,
    post_run_result,
)
from tasks.approvals.store import (
    claim_note,
    read_request,
    read_votes,
    record_vote,
    store_request,
    vote_is_authentic,
)
from tasks.approvals.wait_message import waiting_with_message
from tasks.triggers import Trigger


class ApprovalTimeout(RuntimeError):
    """Nobody decided before the gate's timeout: treated as rejected, nothing was applied."""

    def __init__(self, message: str, refused: list[str] | None = None) -> None:
        super().__init__(message)
        self.refused = refused or []


def gate_key(plan: Plan) -> str:
    """The pause key of the gate that approves ``plan``: lowercase, digits and dashes only."""
    return f"approve-{plan.hash[:16]}"


#: The message of the Running state a deployment run's gate sets when its hold ends, just
#: before it suspends: a click that finds it waits for the suspension instead of giving up.
HOLD_EXPIRED_MESSAGE = "approval hold expired; suspending until answered"


def wait_key(gate: str, wait: int) -> str:
    """The pause key of the ``wait``-th wait of ``gate``: ``gate``, then ``gate-r<n>``.

    Every pause or suspension needs a key never used on the run (Prefect refuses a used one,
    answering it from its stored input); the ``-r<n>`` form is what the CLI, the click
    handler and the expiry sweep read back to the gate.
    """
    return gate if wait == 0 else f"{gate}-r{wait}"


def deployment_wait_keys(gate: str, attempt: int) -> tuple[str, str]:
    """The hold (pause) and suspension keys of a deployment run's ``attempt``-th wait.

    Two consecutive waits per attempt, fixed whatever ``hold_seconds`` is, so a run that
    re-enters from the top after a suspension finds the same keys even if the policy changed.
    """
    return wait_key(gate, 2 * attempt), wait_key(gate, 2 * attempt + 1)


async def require_approval(
    plan: Plan,
    policy: RunbookPolicy,
    trigger: Trigger,
    *,
    protected: list[str] | None = None,
    held: str | None = None,
) -> ApprovalDecision:
    """Ask for approval of ``plan``'s destructive changes and wait until the votes decide.

    Args:
        plan: The plan to approve; only called when it has destructive changes.
        policy: The approval policy, and Slack approvals if configured.
        trigger: Who or what started the run; the requester may not approve.
        protected: Further people who may never approve (the user being offboarded).
        held: Why the run is held for break-glass approval (leaver storm), if it is.

    Returns:
        The decision; ``approved`` is False for a rejection.

    Raises:
        ApprovalTimeout: the votes did not decide before the request expired.
    """
    logger = get_run_logger()
    rules = policy.approval
    protected = [p for p in (protected or []) if p]
    subjects = Subjects.of(protected, trigger.requested_by)
    request = await _ask(plan, policy, trigger, protected, held)
    await _buttons_follow_crashes(policy, request)
    directory = await resolve_directory(rules, policy.approvals)
    logger.info(
        "waiting until %s for approval of plan %s (gate %s)%s: Slack, the Prefect UI, or "
        "arize-runbooks approve %s",
        request.expires_at.isoformat(timespec="seconds"),
        plan.hash[:12],
        request.gate,
        f", HELD for break-glass: {held}" if held else "",
        request.run_id,
    )
    attempt, history = 0, []
    while True:
        try:
            with waiting_with_message(_wait_state_message(policy, request, history)):
                answer = await _wait(plan, policy, request, attempt)
        except ApprovalTimeout as ex:
            ex.refused = history
            raise
        verdict = await _judge(plan, policy, request, subjects, directory, answer, held)
        if verdict.decided:
            async with get_client() as client:
                await claim_note(client, request.run_id, f"{request.gate}-decided")
            decision = await _decided(plan, policy, request, verdict)
            decision.refused = list(dict.fromkeys([*history, *decision.refused]))
            return decision
        history.append(await _refused(policy, request, attempt, verdict))
        attempt += 1


async def announce_result(plan: Plan, policy: RunbookPolicy, text: str) -> None:
    """Reply in the approval message's Slack thread with how the run ended.

    Only runs whose plan went through a Slack gate have a thread; others return at once.
    """
    if policy.approvals is None or not plan.destructive:
        return
    async with get_client() as client:
        request = await read_request(client, str(flow_run.id), gate_key(plan))
    if request is not None and request.message_ts:
        await post_run_result(policy.approvals, request, text)


async def _ask(
    plan: Plan, policy: RunbookPolicy, trigger: Trigger, protected: list[str], held: str | None
) -> ApprovalRequest:
    """Post (Slack) or store the request once; a re-executed run gets the stored one back."""
    timeout = policy.approval.timeout_seconds
    request = ApprovalRequest(
        run_id=str(flow_run.id),
        gate=gate_key(plan),
        runbook=plan.runbook,
        subject=plan.subject,
        trigger=trigger.describe(),
        requested_by=trigger.requested_by,
        protected=protected,
        plan_hash=plan.hash,
        destructive=[change.describe() for change in plan.destructive],
        counts=plan.counts(),
        timeout_seconds=timeout,
        expires_at=datetime.now(UTC) + timedelta(seconds=timeout),
        flow_run_url=flow_run.ui_url,
        policy=policy.approval,
        held=held,
        channel=policy.approvals.channel if policy.approvals is not None else None,
    )
    if policy.approvals is not None:
        return await post_approval_request(policy.approvals, request)
    async with get_client() as client:
        if await store_request(client, request):
            return request
        stored = await read_request(client, request.run_id, request.gate)
    return stored or request


async def _wait(
    plan: Plan, policy: RunbookPolicy, request: ApprovalRequest, attempt: int
) -> ApprovalAnswer:
    """Pause, or hold then suspend, until someone answers, within the request's expiry."""
    form = _answer_form(plan, policy, request)
    try:
        if _remaining(request) <= 0:
            raise FlowPauseTimeout("the request has expired")
        if deployment.id:
            return await _hold_then_suspend(policy, request, attempt, form)
        return await apause_flow_run(
            wait_for_input=form,
            key=wait_key(request.gate, attempt),
            timeout=_remaining(request),
            poll_interval=policy.poll_interval_seconds,
        )
    except FlowPauseTimeout as ex:
        if policy.approvals is not None:
            await mark_expired(policy.approvals, request)
        raise ApprovalTimeout(
            f"no decision on plan {plan.hash[:12]} by {request.expires_at:%Y-%m-%d %H:%M:%S} "
            "UTC; treated as rejected, nothing was applied"
        ) from ex


async def _buttons_follow_crashes(policy: RunbookPolicy, request: ApprovalRequest) -> None:
    """Slack buttons off if the run crashes while it waits; back on when a run rescheduled
    after a crash waits again under the same request."""
    if policy.approvals is None or not request.message_ts:
        return
    async with get_client() as client:
        states = await client.read_flow_run_states(UUID(str(flow_run.id)))
    if any(s.type is StateType.CRASHED for s in states):
        await reopen_request(policy.approvals, request)
    disable_buttons_on_crash(policy.approvals, request)


def _remaining(request: ApprovalRequest) -> int:
    return int((request.expires_at - datetime.now(UTC)).total_seconds())


async def _hold_then_suspend(
    policy: RunbookPolicy, request: ApprovalRequest, attempt: int, form: type[ApprovalAnswer]
) -> ApprovalAnswer:
    """A deployment run's wait: in-process for ``hold_seconds``, then suspended.

    The hold's pause carries the request's whole timeout, so Prefect's server still accepts a
    click that lands after the hold ended here (a pause past its own timeout is failed, not
    resumed); only this process stops waiting. A click accepted in that window saved its
    answer under the hold's key, so it is read back before suspending.
    """
    run_id = UUID(str(flow_run.id))
    hold_key, suspend_key = deployment_wait_keys(request.gate, attempt)
    async with get_client() as client:
        run = await client.read_flow_run(run_id)
    fired = set(run.empirical_policy.pause_keys or ())
    if suspend_key in fired:
        # Re-entered after the suspension was answered: Prefect returns the stored answer.
        return await asuspend_flow_run(
            wait_for_input=form, key=suspend_key, timeout=max(_remaining(request), 1)
        )
    hold = min(policy.approval.hold_seconds, _remaining(request))
    if hold_key not in fired and hold > 0:
        try:
            async with asyncio.timeout(hold) as holding:
                with _sigterm_ends_hold(holding):
                    return await apause_flow_run(
                        wait_for_input=form,
                        key=hold_key,
                        timeout=_remaining(request),
                        poll_interval=policy.poll_interval_seconds,
                    )
        except TimeoutError:
            pass
    async with get_client() as client:
        if hold_key in fired or hold > 0:
            await _back_to_running(client, run_id)
            answer = await _held_answer(client, run_id, hold_key)
            if answer is not None:
                return form(**answer)
    remaining = _remaining(request)
    if remaining <= 0:
        raise FlowPauseTimeout("the request expired during the hold")
    get_run_logger().info(
        "no answer within the %d s hold: suspending (gate %s); an answer starts a new process",
        hold,
        suspend_key,
    )
    return await asuspend_flow_run(wait_for_input=form, key=suspend_key, timeout=remaining)


@contextlib.contextmanager
def _sigterm_ends_hold(holding: asyncio.Timeout) -> Iterator[None]:
    """While the hold lasts, SIGTERM ends it at once instead of killing the process.

    A worker being stopped (a deploy, a scale-down) should not wait out a hold of minutes nor
    have its held runs crashed: the hold times out now, so the gate suspends the run under its
    usual key (the answer form stays valid) and this process exits cleanly. A SIGTERM that is
    Prefect cancelling the run (a control intent was sent first) goes to Prefect's own handler.
    Outside the main thread signals cannot be handled; the hold then stays as it was.
    """
    from prefect._internal import control_listener

    loop = asyncio.get_running_loop()
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except ValueError:
        yield
        return

    def end_hold(signum: int, frame: FrameType | None) -> None:
        if control_listener.get_intent() is not None and callable(previous):
            previous(signum, frame)
            return
        loop.call_soon_threadsafe(holding.reschedule, loop.time())

    try:
        signal.signal(signal.SIGTERM, end_hold)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


async def _back_to_running(client: PrefectClient, run_id: UUID) -> None:
    """Move a run whose hold ended (still Paused) back to Running, as Prefect only suspends
    a Running run; a click may have resumed it already, which is as good."""
    run = await client.read_flow_run(run_id)
    if run.state is not None and run.state.is_paused():
        await client.set_flow_run_state(run_id, Running(message=HOLD_EXPIRED_MESSAGE))


async def _held_answer(
    client: PrefectClient, run_id: UUID, hold_key: str
) -> dict[str, Any] | None:
    """The answer a resume stored under the hold's pause key, if any."""
    response = keyset_from_base_key(f"paused-{hold_key}")["response"]
    try:
        value = await client.read_flow_run_input(run_id, response)
    except ObjectNotFound:
        return None
    except PrefectHTTPStatusError as ex:
        if ex.response.status_code == 404:
            return None
        raise
    loaded = json.loads(value)
    return loaded if isinstance(loaded, dict) else None


async def _judge(
    plan: Plan,
    policy: RunbookPolicy,
    request: ApprovalRequest,
    subjects: Subjects,
    directory: Directory,
    answer: ApprovalAnswer,
    held: str | None,
) -> Verdict:
    """Record a form answer from someone without a vote as a UI vote; judge every vote."""
    async with get_client() as client:
        votes = await read_votes(client, request.run_id, request.gate)
        answer_refused = await _record_form_answer(
            client, plan, policy, request, subjects, directory, answer, votes
        )
        if answer_refused is None:
            votes = await read_votes(client, request.run_id, request.gate)
    authentic = {
        index
        for index, vote in enumerate(votes)
        if vote_is_authentic(request.run_id, request.gate, vote)
    }
    verdict = evaluate(
        policy.approval,
        votes,
        subjects,
        directory,
        plan_hash=plan.hash,
        held=held is not None,
        authentic=authentic,
    )
    if answer_refused:
        verdict.refused.insert(0, answer_refused)
    if held and not verdict.decided:
        verdict.refused.append(f"the run is held for break-glass approval: {held}")
    return verdict


async def _record_form_answer(
    client: PrefectClient,
    plan: Plan,
    policy: RunbookPolicy,
    request: ApprovalRequest,
    subjects: Subjects,
    directory: Directory,
    answer: ApprovalAnswer,
    votes: list[Vote],
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
    why = refusal(policy.approval, voter, subjects, directory) or held_refusal(
        request.held, approved=answer.approved
    )
    if why is not None:
        return f"a Prefect UI answer was refused and not recorded as a vote: {why}"
    ui_vote = Vote(
        voter=voter,
        approved=answer.approved,
        plan_hash=plan.hash,
        at=datetime.now(UTC),
        reason=answer.comment,
    )
    if not await record_vote(client, request.run_id, request.gate, ui_vote):
        return f"a Prefect UI answer by {claimed} counts for nothing: they already voted"
    return None


async def _decided(
    plan: Plan, policy: RunbookPolicy, request: ApprovalRequest, verdict: Verdict
) -> ApprovalDecision:
    logger = get_run_logger()
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
    logger.info("plan %s %s", plan.hash[:12], verdict.summary())
    if decision.break_glass:
        BREAK_GLASS_APPROVALS.labels(runbook=plan.runbook).inc()
        emit_event(
            event="arize-runbooks.approval.break-glass",
            resource={"prefect.resource.id": f"prefect.flow-run.{request.run_id}"},
            payload={"runbook": plan.runbook, "subject": plan.subject, "by": decision.approver},
        )
        logger.warning("BREAK-GLASS: %s", verdict.summary())
    if policy.approvals is not None:
        # The message names people as Slack mentions where it can (ids), else by e-mail.
        shown = decision.model_copy(
            update={"approver": voters[0].id, "approvers": [v.id for v in voters]}
        )
        await mark_decided(policy.approvals, request, shown)
        if decision.break_glass:
            await post_run_result(
                policy.approvals,
                request,
                f":rotating_light: *BREAK-GLASS* for {plan.runbook} {plan.subject}: "
                f"{verdict.summary()}",
                broadcast=True,
            )
    return decision


async def _refused(
    policy: RunbookPolicy, request: ApprovalRequest, attempt: int, verdict: Verdict
) -> str:
    """Say in the log, and once per attempt in the Slack thread, why the gate still waits.

    A vote short of the quorum is progress; anything that did not count is a refused attempt
    and is shown in the channel too.
    """
    if verdict.refused:
        text = (
            f":no_entry: An answer did not count ({verdict.summary()} so far): "
            + "; ".join(verdict.refused)
        )
    else:
        text = f"Vote recorded: {verdict.summary()}; waiting for more."
    get_run_logger().warning("%s; waiting again", text)
    async with get_client() as client:
        first = await claim_note(client, request.run_id, f"{request.gate}-refused-{attempt}")
    if first and policy.approvals is not None:
        await post_run_result(policy.approvals, request, text, broadcast=bool(verdict.refused))
    return f"woken at attempt {attempt + 1}: {text.removeprefix(':no_entry: ')}"


#: Prefect keeps state messages short in its UI; the rules come first, then the last refusal.
_MAX_STATE_MESSAGE = 1000


def _rules_in_words(policy: RunbookPolicy, request: ApprovalRequest) -> tuple[str, str, str]:
    """Who may approve, whether UI answers count, and the expiry: the policy that judges."""
    return (
        who_may_approve(policy.approval, held=request.held is not None),
        ui_votes_in_words(policy.approval, slack_configured=policy.approvals is not None),
        f"{request.expires_at:%Y-%m-%d %H:%M:%S} UTC",
    )


def _wait_state_message(policy: RunbookPolicy, request: ApprovalRequest, history: list[str]) -> str:
    """The waiting state's message on the run's page: who may approve, by when, and why the
    last answer did not count."""
    who, ui, expires = _rules_in_words(policy, request)
    text = f"Waiting for approval until {expires} by {who}. {ui}."
    if history:
        text = f"{text} Last answer: {history[-1]}"
    return text[:_MAX_STATE_MESSAGE]


def _answer_form(
    plan: Plan, policy: RunbookPolicy, request: ApprovalRequest
) -> type[ApprovalAnswer]:
    """The resume form, showing the policy that will judge the answer (Prefect renders the
    model's description above the form and each field's description under it)."""
    who, ui, expires = _rules_in_words(policy, request)
    form = create_model(
        ApprovalAnswer.__name__,
        __base__=ApprovalAnswer,
        approved=(bool, Field(default=False, description="Tick to approve; untick to reject.")),
        approver=(str, Field(min_length=1, description=f"Your e-mail. May approve: {who}. {ui}.")),
    )
    held = f"\n\n**HELD for break-glass approval:** {request.held}" if request.held else ""
    return form.with_initial_data(
        description=(
            f"{plan.render_markdown()}{held}\n\n**Who may approve:** {who}\n\n"
            f"**Prefect UI answers:** {ui}.\n\n**Expires:** {expires}; no decision by then "
            "means rejected.\n\nYour answer is a vote from the e-mail you enter; one that "
            "the policy refuses is not recorded and the run keeps waiting, saying why."
        )
    )
