"""The approval gate: ask, wait, and decide only on durable votes that satisfy the policy.

Deployment runs suspend (nothing is held while people take hours); local runs and tests pause.
Whatever resumes the run (a Slack click, ``arize-runbooks approve``, the Prefect UI's form, a
raw API call) only wakes it: the flow then reads the votes stored on the run and judges them
with :mod:`tasks.approvals.policy`. A form answer from someone without a vote is recorded as a
UI vote and judged like any other. When the votes do not decide, the refusal goes to the log,
the Slack thread and finally the report, and the gate waits again (under a new pause key, since
Prefect answers a used key from its stored input) until the request's original expiry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect import get_client, get_run_logger
from prefect.events import emit_event
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import apause_flow_run, asuspend_flow_run
from prefect.runtime import deployment, flow_run

from blocks.policy import RunbookPolicy
from tasks.approvals.directory import resolve_directory
from tasks.approvals.metrics import BREAK_GLASS_APPROVALS
from tasks.approvals.models import ApprovalAnswer, ApprovalDecision, ApprovalRequest
from tasks.approvals.policy import (
    Directory,
    Subjects,
    Verdict,
    Vote,
    VoteChannel,
    Voter,
    evaluate,
)
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
from tasks.planning.plan import Plan
from tasks.triggers import Trigger


class ApprovalTimeout(RuntimeError):
    """Nobody decided before the gate's timeout: treated as rejected, nothing was applied."""

    def __init__(self, message: str, refused: list[str] | None = None) -> None:
        super().__init__(message)
        self.refused = refused or []


def gate_key(plan: Plan) -> str:
    """The pause key of the gate that approves ``plan``: lowercase, digits and dashes only."""
    return f"approve-{plan.hash[:16]}"


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
    """Pause or suspend until someone answers; the timeout is what is left of the request's."""
    remaining = int((request.expires_at - datetime.now(UTC)).total_seconds())
    key = request.gate if attempt == 0 else f"{request.gate}-r{attempt}"
    form = ApprovalAnswer.with_initial_data(
        description=_form_description(plan, request), approved=False, approver=""
    )
    try:
        if remaining <= 0:
            raise FlowPauseTimeout("the request has expired")
        if deployment.id:
            return await asuspend_flow_run(wait_for_input=form, key=key, timeout=remaining)
        return await apause_flow_run(
            wait_for_input=form,
            key=key,
            timeout=remaining,
            poll_interval=policy.poll_interval_seconds,
        )
    except FlowPauseTimeout as ex:
        if policy.approvals is not None:
            await mark_expired(policy.approvals, request)
        raise ApprovalTimeout(
            f"no decision on plan {plan.hash[:12]} by {request.expires_at:%Y-%m-%d %H:%M:%S} "
            "UTC; treated as rejected, nothing was applied"
        ) from ex


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
        claimed = answer.approver.strip().lower()
        if claimed and not any(claimed in vote.voter.identities() for vote in votes):
            ui_vote = Vote(
                voter=Voter(
                    channel=VoteChannel.UI,
                    id=claimed,
                    email=claimed if "@" in claimed else None,
                ),
                approved=answer.approved,
                plan_hash=plan.hash,
                at=datetime.now(UTC),
                reason=answer.comment,
            )
            await record_vote(client, request.run_id, request.gate, ui_vote)
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
    if held and not verdict.decided:
        verdict.refused.append(f"the run is held for break-glass approval: {held}")
    return verdict


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


def _form_description(plan: Plan, request: ApprovalRequest) -> str:
    held = f"\n\n**HELD for break-glass approval:** {request.held}" if request.held else ""
    return (
        f"{plan.render_markdown()}{held}\n\nYour answer is a vote from the e-mail you enter; "
        "it counts only if the approval policy allows Prefect UI votes and names you."
    )
