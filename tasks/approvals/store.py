"""Approval requests and votes kept on the flow run, through Prefect's run-input API.

Run inputs are unique per ``(flow run, key)`` in Prefect's database, so storing a vote under
``vote-<gate>-<user>`` is both the record and the "one vote per person" rule, and it survives a
restart of whoever wrote it. Every function takes an open ``PrefectClient``.
"""

from __future__ import annotations

from uuid import UUID

import httpx
from prefect.client.orchestration import PrefectClient

from tasks.approvals.models import (
    REQUEST_KEY_PREFIX,
    VOTE_KEY_PREFIX,
    ApprovalRequest,
    Vote,
    request_key,
    vote_key,
)

EXPIRED_KEY_PREFIX = "approval-expired-"

# More votes than any quorum needs; one page is enough.
_MAX_VOTES = 200


def _status(ex: httpx.HTTPStatusError) -> int:
    return ex.response.status_code


async def read_request(
    client: PrefectClient, run_id: UUID | str, gate: str
) -> ApprovalRequest | None:
    """The request stored for ``gate`` on the run, or ``None`` if none was stored.

    Args:
        client: An open Prefect client.
        run_id: The flow run.
        gate: The gate's pause key.

    Returns:
        The stored request, or ``None``.
    """
    try:
        raw = await client.read_flow_run_input(flow_run_id=UUID(str(run_id)), key=request_key(gate))
    except httpx.HTTPStatusError as ex:
        if _status(ex) == 404:
            return None
        raise
    return ApprovalRequest.model_validate_json(raw)


async def store_request(client: PrefectClient, request: ApprovalRequest) -> bool:
    """Store ``request`` on its run unless one is already stored for its gate.

    Args:
        client: An open Prefect client.
        request: The request; ``run_id`` and ``gate`` say where.

    Returns:
        ``True`` if stored, ``False`` if the gate already had a request.
    """
    try:
        await client.create_flow_run_input(
            flow_run_id=UUID(request.run_id),
            key=request_key(request.gate),
            value=request.model_dump_json(),
            sender="slack-approvals",
        )
    except httpx.HTTPStatusError as ex:
        if _status(ex) == 409:
            return False
        raise
    return True


async def record_vote(client: PrefectClient, run_id: UUID | str, gate: str, vote: Vote) -> bool:
    """Record one person's vote; the database refuses a second one under the same key.

    Args:
        client: An open Prefect client.
        run_id: The flow run.
        gate: The gate's pause key.
        vote: The vote.

    Returns:
        ``True`` if recorded, ``False`` if this person had already voted on this gate.
    """
    try:
        await client.create_flow_run_input(
            flow_run_id=UUID(str(run_id)),
            key=vote_key(gate, vote.user_id),
            value=vote.model_dump_json(),
            sender=f"slack:{vote.user_id}",
        )
    except httpx.HTTPStatusError as ex:
        if _status(ex) == 409:
            return False
        raise
    return True


async def read_votes(client: PrefectClient, run_id: UUID | str, gate: str) -> list[Vote]:
    """Every vote recorded on ``gate``, oldest first.

    Args:
        client: An open Prefect client.
        run_id: The flow run.
        gate: The gate's pause key.

    Returns:
        The votes.
    """
    inputs = await client.filter_flow_run_input(
        flow_run_id=UUID(str(run_id)),
        key_prefix=f"{VOTE_KEY_PREFIX}{gate}-",
        limit=_MAX_VOTES,
        exclude_keys=set(),
    )
    votes = []
    for item in inputs:
        vote = Vote.model_validate_json(item.value)
        # The prefix of gate "x" also matches gate "x-y": keep only this gate's own keys.
        if item.key == vote_key(gate, vote.user_id):
            votes.append(vote)
    return sorted(votes, key=lambda v: v.at)


def expired_key(gate: str) -> str:
    """Run-input key that records a gate's message was marked expired (at most once)."""
    return f"{EXPIRED_KEY_PREFIX}{gate}"


async def claim_expiry(client: PrefectClient, run_id: UUID | str, gate: str) -> bool:
    """Claim the one "mark this gate expired" update; ``False`` if someone already did.

    Args:
        client: An open Prefect client.
        run_id: The flow run.
        gate: The gate's pause key.

    Returns:
        ``True`` for the first caller only.
    """
    try:
        await client.create_flow_run_input(
            flow_run_id=UUID(str(run_id)), key=expired_key(gate), value="true"
        )
    except httpx.HTTPStatusError as ex:
        if _status(ex) == 409:
            return False
        raise
    return True


async def unanswered_requests(client: PrefectClient, run_id: UUID | str) -> list[ApprovalRequest]:
    """Requests stored on a run whose gate never received an answer and was not marked expired.

    A resume stores the answer as ``paused-<gate>-response`` or ``suspended-<gate>-response``.

    Args:
        client: An open Prefect client.
        run_id: The flow run.

    Returns:
        The unanswered requests.
    """
    inputs = await client.filter_flow_run_input(
        flow_run_id=UUID(str(run_id)), key_prefix="", limit=_MAX_VOTES, exclude_keys=set()
    )
    keys = {item.key for item in inputs}
    unanswered = []
    for item in inputs:
        if not item.key.startswith(REQUEST_KEY_PREFIX):
            continue
        request = ApprovalRequest.model_validate_json(item.value)
        answered = {f"paused-{request.gate}-response", f"suspended-{request.gate}-response"}
        if keys & answered or expired_key(request.gate) in keys:
            continue
        unanswered.append(request)
    return unanswered
