"""``arize-runbooks approve|reject RUN_ID``: vote on a runbook's approval gate from a terminal.

A CLI answer is one vote, cast as the e-mail given by ``--as`` (or ``ARIZE_RUNBOOKS_APPROVER``)
and checked here against the run's approval policy: the subject and the requester are refused,
and so is anyone the policy does not name, or every CLI answer when the policy turns them off.
The flow checks again when it wakes. ``--break-glass`` is for the people the policy names.

Exit codes: 0 when the vote is stored and counts; 2 (with what, where and the fix) when it does
not: refused, already voted, the run is not waiting or does not exist.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import typer
from prefect import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL
from rich.console import Console

from blocks.policy import RunbookPolicy
from cli.errors import CliError
from core.approvals.rules import (
    Subjects,
    Vote,
    VoteChannel,
    Voter,
    evaluate,
    held_refusal,
    refusal,
)
from tasks.approvals.answer import ApprovalAnswer
from tasks.approvals.directory import resolve_directory
from tasks.approvals.resume import resume_when_waiting, settled
from tasks.approvals.store import read_request, read_votes, record_vote, vote_is_authentic

console = Console(stderr=True)

#: Who the CLI votes as, unless --as says otherwise.
IDENTITY_ENV = "ARIZE_RUNBOOKS_APPROVER"


async def wait_for_gate(flow_name: str, since: datetime, poll_seconds: float = 0.5) -> FlowRun:
    """The first run of ``flow_name`` started after ``since`` that is paused at a gate."""
    flow_filter = FlowFilter(name=FlowFilterName(any_=[flow_name]))
    run_filter = FlowRunFilter(
        start_time=FlowRunFilterStartTime(after_=since),
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])),
    )
    async with get_client() as client:
        while True:
            runs = await client.read_flow_runs(
                flow_filter=flow_filter, flow_run_filter=run_filter, limit=1
            )
            if runs:
                return runs[0]
            await asyncio.sleep(poll_seconds)


class GateNotAnswered(CliError):
    """The answer counts for nothing: refused (not waiting, not permitted, already voted) or
    Prefect refused the resume. Printed with what, where and the fix; exit code 2."""


@dataclass(frozen=True)
class GateAnswered:
    """A CLI vote that was stored and counts: on which gate, and what the votes add up to."""

    gate: str
    progress: str


def base_gate(pause_key: str) -> str:
    """The gate a pause key belongs to: a gate that waits again pauses as ``<gate>-r<n>``."""
    return re.sub(r"-r\d+$", "", pause_key)


async def answer_gate(
    run_id: UUID | str,
    *,
    approved: bool,
    approver: str,
    comment: str = "",
    break_glass: bool = False,
) -> str:
    """Record a CLI vote on a waiting run, checked against its policy, then wake the run.

    The vote is the durable record (one per person and gate); the flow re-checks it with the
    other votes before it applies anything, so waking it early is harmless.

    Returns:
        The gate's key.

    Raises:
        GateNotAnswered: the run is not waiting, the identity may not vote (or break-glass),
            it already voted, or Prefect refused the resume.
    """
    answered = await cast_vote(
        run_id, approved=approved, approver=approver, comment=comment, break_glass=break_glass
    )
    return answered.gate


def _run_uuid(run_id: UUID | str) -> UUID:
    try:
        return UUID(str(run_id).strip())
    except ValueError:
        raise GateNotAnswered(
            f"{str(run_id)[:80]!r} is not a flow run id",
            where="the RUN_ID argument",
            fix="pass the run's id (a UUID such as 0f8e…-…), as shown in the approval message, "
            "the run's page in the Prefect UI or `prefect flow-run ls`",
        ) from None


async def cast_vote(
    run_id: UUID | str,
    *,
    approved: bool,
    approver: str,
    comment: str = "",
    break_glass: bool = False,
) -> GateAnswered:
    """:func:`answer_gate`, also saying what the votes add up to now.

    Raises:
        GateNotAnswered: as :func:`answer_gate`.
    """
    identity = approver.strip().lower()
    if break_glass and not comment.strip():
        raise GateNotAnswered(
            "--break-glass needs a reason", where="--reason", fix="say why, for the audit record"
        )
    if "@" not in identity:
        raise GateNotAnswered(
            f"{approver!r} is not an e-mail",
            where=f"--as (or ${IDENTITY_ENV})",
            fix="vote as your own e-mail: the approval policy names approvers by e-mail",
        )
    run_uuid = _run_uuid(run_id)
    async with get_client() as client:
        try:
            # A vote that lands while the run is between two waits of its gate counts once
            # the run waits again, a moment later.
            run = await settled(client, run_uuid)
        except ObjectNotFound:
            raise GateNotAnswered(
                f"no flow run {run_uuid} in this Prefect",
                where=f"the RUN_ID argument, looked up at {PREFECT_API_URL.value()}",
                fix="check the id, and that PREFECT_API_URL points at the Prefect server the "
                "run is on",
            ) from None
        if run.state is None or not run.state.is_paused():
            state = run.state.name if run.state else "unknown"
            raise GateNotAnswered(
                f"run {run_id} is not waiting for approval (state: {state}); nothing was recorded",
                where="the RUN_ID argument",
                fix="answer a run that is Paused or Suspended at its gate; a decided, expired "
                "or finished run takes no more votes",
            )
        gate = base_gate(run.state.state_details.pause_key or "")
        request = await read_request(client, run.id, gate) if gate else None
        if request is None:
            raise GateNotAnswered(
                f"run {run_id} is paused, but not at a runbook approval gate; nothing was "
                "recorded",
                where="the RUN_ID argument",
                fix="resume it from the Prefect UI, or pass the id of a runbook run",
            )
        # The request carries the rules it was asked under (per-space approvers included);
        # the flow checks again against its own policy before it applies anything.
        slack = (await RunbookPolicy.aload(str(run.parameters.get("policy", "default")))).slack
        voter = Voter(channel=VoteChannel.CLI, id=identity, email=identity)
        subjects = Subjects.of(request.protected, request.requested_by)
        directory = await resolve_directory(request.policy, slack)
        why = refusal(request.policy, voter, subjects, directory, break_glass=break_glass)
        if why is not None:
            raise GateNotAnswered(
                f"refused: {why}; nothing was recorded, so it is not your vote",
                where=f"run {run_id}, gate {gate}",
                fix="ask a person the policy names to answer (who may approve is on the run's "
                "page and in the approval message)",
            )
        held = held_refusal(request.held, approved=approved, break_glass=break_glass)
        if held is not None:
            raise GateNotAnswered(
                f"{held}, so nothing was recorded",
                where=f"run {run_id}, gate {gate}",
                fix="a person the policy names for break-glass runs `arize-runbooks approve "
                "--break-glass --reason …`; anyone permitted may still reject",
            )
        vote = Vote(
            voter=voter,
            approved=approved,
            plan_hash=request.plan_hash,
            at=datetime.now(UTC),
            break_glass=break_glass,
            reason=comment,
        )
        if not await record_vote(client, run.id, gate, vote):
            earlier = [v for v in await read_votes(client, run.id, gate) if v.voter.key == identity]
            how = f" (via {earlier[0].voter.channel.value})" if earlier else ""
            raise GateNotAnswered(
                f"{identity} has already voted on this request{how}; this answer counts for "
                "nothing",
                where=f"run {run_id}, gate {gate}",
                fix="one vote per person and request: your first vote stands",
            )
        votes = await read_votes(client, run.id, gate)
        verdict = evaluate(
            request.policy,
            votes,
            subjects,
            directory,
            plan_hash=request.plan_hash,
            held=request.held is not None,
            authentic={i for i, v in enumerate(votes) if vote_is_authentic(run.id, gate, v)},
        )
        answer = ApprovalAnswer(approved=approved, approver=identity, comment=comment)
        result = await resume_when_waiting(client, run.id, answer.model_dump(mode="json"))
    if result.status != SetStateStatus.ACCEPT:
        reason = getattr(result.details, "reason", None) or result.status.value
        raise GateNotAnswered(
            f"your vote is stored, but Prefect did not wake the run: {reason}",
            where=f"run {run_id}, gate {gate}",
            fix="if another answer just woke it, the flow judges every stored vote, yours "
            "included, and waits again if they do not decide; check the run's state message",
        )
    return GateAnswered(gate, verdict.summary())


def _identity(approver: str | None) -> str:
    who = approver or os.environ.get(IDENTITY_ENV)
    if not who:
        console.print(
            f"[red]Who are you? Pass --as EMAIL or set {IDENTITY_ENV}: the approval policy "
            "checks that e-mail.[/red]"
        )
        raise typer.Exit(2)
    return who


def _answer(
    run_id: str, approved: bool, approver: str | None, comment: str, break_glass: bool = False
) -> None:
    who = _identity(approver)
    answered = asyncio.run(
        cast_vote(run_id, approved=approved, approver=who, comment=comment, break_glass=break_glass)
    )
    verdict = "BREAK-GLASS approval" if break_glass else ("approval" if approved else "rejection")
    console.print(
        f"[green]{verdict} recorded[/green] for run {run_id} (gate {answered.gate}) as {who}: "
        f"{answered.progress}. The run applies only once the votes satisfy its policy."
    )


def approve(
    run_id: str = typer.Argument(help="The paused flow run's id."),
    approver: str = typer.Option(
        None, "--as", "--approver", help=f"Your e-mail (default: ${IDENTITY_ENV})."
    ),
    comment: str = typer.Option("", "--comment", "--reason", help="Why, for the audit record."),
    break_glass: bool = typer.Option(
        False,
        "--break-glass",
        help="Approve alone, overriding the quorum or a leaver-storm hold (named people only; "
        "needs --reason; posted loudly).",
    ),
) -> None:
    """Vote to approve a runbook run waiting at its approval gate."""
    _answer(run_id, True, approver, comment, break_glass)


def reject(
    run_id: str = typer.Argument(help="The paused flow run's id."),
    approver: str = typer.Option(
        None, "--as", "--approver", help=f"Your e-mail (default: ${IDENTITY_ENV})."
    ),
    comment: str = typer.Option("", "--comment", "--reason", help="Why, for the audit record."),
) -> None:
    """Vote to reject a runbook run waiting at its approval gate; one permitted reject decides."""
    _answer(run_id, False, approver, comment)
