"""``arize-runbooks approve|reject RUN_ID``: answer a runbook's approval gate from a terminal.

The same gate as the Prefect UI's resume form and the Slack buttons: the answer resumes the
paused run with an ``ApprovalDecision``. Only an ACCEPT from Prefect counts, so a gate someone
else already answered is reported, not silently "approved".
"""

from __future__ import annotations

import asyncio
import getpass
from datetime import datetime
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

from tasks.approvals.models import ApprovalDecision, ApprovalRequest
from tasks.approvals.store import read_request

console = Console(stderr=True)


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
    """Prefect did not accept the answer (not paused, already decided, or invalid)."""


async def answer_gate(
    run_id: UUID | str, *, approved: bool, approver: str, comment: str = ""
) -> str:
    """Resume a paused run with a decision; return the gate's pause key.

    Raises:
        GateNotAnswered: the run is not waiting for approval, or Prefect refused the answer.
    """
    decision = ApprovalDecision(
        approved=approved, approver=approver, comment=comment, approvers=[approver]
    )
    async with get_client() as client:
        run = await client.read_flow_run(UUID(str(run_id)))
        if run.state is None or not run.state.is_paused():
            state = run.state.name if run.state else "unknown"
            raise GateNotAnswered(f"run {run_id} is not waiting for approval (state: {state})")
        gate = run.state.state_details.pause_key
        request = await read_request(client, run.id, gate) if gate else None
        if request is not None and approved:
            _refuse_protected(request, approver)
        result = await client.resume_flow_run(
            run.id, run_input=decision.model_dump(mode="json")
        )
    if result.status != SetStateStatus.ACCEPT:
        reason = getattr(result.details, "reason", result.status.value)
        raise GateNotAnswered(f"Prefect did not accept the answer: {reason}")
    return gate or ""


def _refuse_protected(request: ApprovalRequest, approver: str) -> None:
    """The subject of the run, and its requester unless the policy allows it, may not approve."""
    refused = {p.lower() for p in request.protected}
    if request.requested_by and not request.allow_requester:
        refused.add(request.requested_by.lower())
    if approver.lower() in refused:
        raise GateNotAnswered(f"{approver} may not approve this run (requester or subject)")


def _answer(run_id: str, approved: bool, approver: str | None, comment: str) -> None:
    who = approver or getpass.getuser()
    try:
        gate = asyncio.run(answer_gate(run_id, approved=approved, approver=who, comment=comment))
    except GateNotAnswered as ex:
        console.print(f"[red]{ex}[/red]")
        raise typer.Exit(1) from ex
    verdict = "approved" if approved else "rejected"
    console.print(f"[green]{verdict}[/green] run {run_id} (gate {gate}) as {who}")


def approve(
    run_id: str = typer.Argument(help="The paused flow run's id."),
    approver: str = typer.Option(None, help="Who approves; defaults to your login name."),
    comment: str = typer.Option("", help="Why, for the audit record."),
) -> None:
    """Approve a runbook run waiting at its approval gate."""
    _answer(run_id, True, approver, comment)


def reject(
    run_id: str = typer.Argument(help="The paused flow run's id."),
    approver: str = typer.Option(None, help="Who rejects; defaults to your login name."),
    comment: str = typer.Option("", help="Why, for the audit record."),
) -> None:
    """Reject a runbook run waiting at its approval gate; nothing destructive happens."""
    _answer(run_id, False, approver, comment)
