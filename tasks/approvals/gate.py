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

This module is the Prefect adapter: it waits (pause, hold then suspend) and wires the ports of
the decision logic in :mod:`core.approvals.decision` (which judges, times the hold and expiry,
and says what to tell) to the system clock, the votes on the flow run
(:class:`~tasks.approvals.store.PrefectVoteStore`) and Slack
(:class:`~tasks.approvals.notifier.SlackNotifier`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from datetime import timedelta
from types import FrameType
from uuid import UUID

from prefect import get_client, get_run_logger
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import StateType
from prefect.events import emit_event
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import asuspend_flow_run
from prefect.runtime import deployment, flow_run
from prefect.states import Running
from pydantic import Field, create_model

from blocks.policy import RunbookPolicy
from core.approvals.decision import (
    decision_of,
    expiry_message,
    hold_seconds,
    judge,
    refused_text,
    remaining_seconds,
    rules_in_words,
    tell_decided,
    tell_refused,
    wait_state_message,
)
from core.approvals.metrics import BREAK_GLASS_APPROVALS
from core.approvals.ports import SystemClock
from core.approvals.requests import ApprovalDecision, ApprovalRequest
from core.approvals.rules import Subjects, Verdict
from core.planning.plan import Plan
from tasks.approvals.answer import ApprovalAnswer
from tasks.approvals.directory import resolve_directory
from tasks.approvals.notifier import notifier_for
from tasks.approvals.pause import pause_until_answered, stored_answer
from tasks.approvals.store import PrefectVoteStore, read_request, store_request
from tasks.approvals.wait_message import waiting_with_message
from tasks.triggers import Trigger

#: The gate's clock; the decision logic in ``core.approvals.decision`` reads time only from it.
CLOCK = SystemClock()


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
    directory = await resolve_directory(rules, policy.slack)
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
        async with get_client() as client:
            store = PrefectVoteStore(client, request.run_id)
            verdict = await judge(
                rules, request, subjects, directory, answer,
                plan_hash=plan.hash, held=held, store=store, clock=CLOCK,
            )
            if verdict.decided:
                await store.claim_note(f"{request.gate}-decided")
        if verdict.decided:
            decision = await _decided(plan, policy, request, verdict)
            decision.refused = list(dict.fromkeys([*history, *decision.refused]))
            return decision
        history.append(await _refused(policy, request, attempt, verdict))
        attempt += 1


async def announce_result(plan: Plan, policy: RunbookPolicy, text: str) -> None:
    """Reply in the approval message's Slack thread with how the run ended.

    Only runs whose plan went through a Slack gate have a thread; others return at once.
    """
    if policy.slack is None or not plan.destructive:
        return
    async with get_client() as client:
        request = await read_request(client, str(flow_run.id), gate_key(plan))
    if request is not None and request.message_ts:
        await notifier_for(policy).announce(request, text, broadcast=False)


async def _ask(
    plan: Plan, policy: RunbookPolicy, trigger: Trigger, protected: list[str], held: str | None
) -> ApprovalRequest:
    """Ask once: the notifier publishes the request (Slack), and the run keeps it, so the
    click handler, the CLI and a re-executed run all find the same request."""
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
        changes=[change.model_dump(mode="json") for change in plan.destructive],
        trigger_evidence=trigger.evidence(),
        counts=plan.counts(),
        timeout_seconds=timeout,
        expires_at=CLOCK.now() + timedelta(seconds=timeout),
        flow_run_url=flow_run.ui_url,
        policy=policy.approval,
        held=held,
        channel=policy.slack.channel if policy.slack is not None else None,
    )
    published = await notifier_for(policy).ask(request)
    async with get_client() as client:
        if await store_request(client, published):
            return published
        stored = await read_request(client, request.run_id, request.gate)
    return stored or published


async def _wait(
    plan: Plan, policy: RunbookPolicy, request: ApprovalRequest, attempt: int
) -> ApprovalAnswer:
    """Pause, or hold then suspend, until someone answers, within the request's expiry."""
    form = _answer_form(plan, policy, request)
    try:
        if remaining_seconds(request, CLOCK) <= 0:
            raise FlowPauseTimeout("the request has expired")
        if deployment.id:
            return await _hold_then_suspend(policy, request, attempt, form)
        return await pause_until_answered(
            form,
            wait_key(request.gate, attempt),
            expires_in=remaining_seconds(request, CLOCK),
            poll_interval=policy.poll_interval_seconds,
        )
    except FlowPauseTimeout as ex:
        await notifier_for(policy).expired(request)
        raise ApprovalTimeout(expiry_message(request)) from ex


async def _buttons_follow_crashes(policy: RunbookPolicy, request: ApprovalRequest) -> None:
    """The request shows it if the run crashes while it waits, and opens again when a run
    rescheduled after a crash waits again under the same request."""
    if not request.message_ts:
        return  # nothing was published that could show it
    async with get_client() as client:
        states = await client.read_flow_run_states(UUID(str(flow_run.id)))
    crashed_before = any(s.type is StateType.CRASHED for s in states)
    await notifier_for(policy).follow_crashes(request, crashed_before=crashed_before)


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
            wait_for_input=form, key=suspend_key, timeout=max(remaining_seconds(request, CLOCK), 1)
        )
    hold = hold_seconds(policy.approval, request, CLOCK)
    if hold_key not in fired and hold > 0:
        try:
            async with asyncio.timeout(hold) as holding:
                with _sigterm_ends_hold(holding):
                    return await pause_until_answered(
                        form,
                        hold_key,
                        expires_in=remaining_seconds(request, CLOCK),
                        poll_interval=policy.poll_interval_seconds,
                    )
        except TimeoutError:
            pass
    async with get_client() as client:
        if hold_key in fired or hold > 0:
            await _back_to_running(client, run_id)
            answer = await stored_answer(client, run_id, hold_key)
            if answer is not None:
                return form(**answer)
    remaining = remaining_seconds(request, CLOCK)
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


async def _decided(
    plan: Plan, policy: RunbookPolicy, request: ApprovalRequest, verdict: Verdict
) -> ApprovalDecision:
    logger = get_run_logger()
    decided = decision_of(verdict)
    decision = decided.decision
    logger.info("plan %s %s", plan.hash[:12], verdict.summary())
    if decision.break_glass:
        BREAK_GLASS_APPROVALS.labels(runbook=plan.runbook).inc()
        emit_event(
            event="arize-runbooks.approval.break-glass",
            resource={"prefect.resource.id": f"prefect.flow-run.{request.run_id}"},
            payload={"runbook": plan.runbook, "subject": plan.subject, "by": decision.approver},
        )
        logger.warning("BREAK-GLASS: %s", verdict.summary())
    await tell_decided(request, decided, verdict, notifier_for(policy))
    return decision


async def _refused(
    policy: RunbookPolicy, request: ApprovalRequest, attempt: int, verdict: Verdict
) -> str:
    """Say in the log, and once per attempt in the Slack thread, why the gate still waits."""
    get_run_logger().warning("%s; waiting again", refused_text(verdict))
    async with get_client() as client:
        store = PrefectVoteStore(client, request.run_id)
        return await tell_refused(request, attempt, verdict, store, notifier_for(policy))


def _rules_in_words(policy: RunbookPolicy, request: ApprovalRequest) -> tuple[str, str, str]:
    return rules_in_words(
        policy.approval, request, slack_configured=policy.slack is not None
    )


def _wait_state_message(policy: RunbookPolicy, request: ApprovalRequest, history: list[str]) -> str:
    return wait_state_message(
        policy.approval, request, history, slack_configured=policy.slack is not None
    )


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
