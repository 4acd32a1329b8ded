"""``arize-runbooks approve|reject RUN_ID``: vote on a runbook's approval gate from a terminal.

A CLI answer is one vote, cast as the e-mail given by ``--as`` (or ``ARIZE_RUNBOOKS_APPROVER``)
and checked here against the run's approval policy: the subject and the requester are refused,
and so is anyone the policy does not name, or every CLI answer when the policy turns them off.
The flow checks again when it wakes. ``--break-glass`` is for the people the policy names.
"""

from __future__ import annotations

import asyncio
import os
import re
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
from rich.console import Console

from blocks.policy import RunbookPolicy
from tasks.approvals.directory import resolve_directory
from tasks.approvals.models import ApprovalAnswer
from tasks.approvals.policy import Subjects, Vote, VoteChannel, Voter, refusal
from tasks.approvals.store import read_request, record_vote

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


class GateNotAnswered(RuntimeError):
    """The answer was refused (not waiting, not permitted, already voted) or Prefect refused it."""


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
    identity = approver.strip().lower()
    if break_glass and not comment.strip():
        raise GateNotAnswered("--break-glass needs --reason: say why, for the audit record")
    async with get_client() as client:
        run = await client.read_flow_run(UUID(str(run_id)))
        if run.state is None or not run.state.is_paused():
            state = run.state.name if run.state else "unknown"
            raise GateNotAnswered(f"run {run_id} is not waiting for approval (state: {state})")
        gate = base_gate(run.state.state_details.pause_key or "")
        request = await read_request(client, run.id, gate) if gate else None
        if request is None:
            raise GateNotAnswered(f"run {run_id} is paused, but not at a runbook approval gate")
        # The request carries the rules it was asked under (per-space approvers included);
        # the flow checks again against its own policy before it applies anything.
        slack = (await RunbookPolicy.aload(str(run.parameters.get("policy", "default")))).approvals
        voter = Voter(channel=VoteChannel.CLI, id=identity, email=identity)
        why = refusal(
            request.policy,
            voter,
            Subjects.of(request.protected, request.requested_by),
            await resolve_directory(request.policy, slack),
            break_glass=break_glass,
        )
        if why is not None:
            raise GateNotAnswered(f"refused: {why}")
        vote = Vote(
            voter=voter,
            approved=approved,
            plan_hash=request.plan_hash,
            at=datetime.now(UTC),
            break_glass=break_glass,
            reason=comment,
        )
        if not await record_vote(client, run.id, gate, vote):
            raise GateNotAnswered(f"{identity} has already voted on this request")
        answer = ApprovalAnswer(approved=approved, approver=identity, comment=comment)
        result = await client.resume_flow_run(run.id, run_input=answer.model_dump(mode="json"))
    if result.status != SetStateStatus.ACCEPT:
        reason = getattr(result.details, "reason", result.status.value)
        raise GateNotAnswered(f"vote recorded, but Prefect did not resume the run: {reason}")
    return gate


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
    try:
        gate = asyncio.run(
            answer_gate(
                run_id, approved=approved, approver=who, comment=comment, break_glass=break_glass
            )
        )
    except GateNotAnswered as ex:
        console.print(f"[red]{ex}[/red]")
        raise typer.Exit(1) from ex
    verdict = "BREAK-GLASS approval" if break_glass else ("approval" if approved else "rejection")
    console.print(
        f"[green]{verdict} recorded[/green] for run {run_id} (gate {gate}) as {who}; "
        "the run applies only once the votes satisfy its policy"
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
