"""Approval requests and votes kept on the flow run, through Prefect's run-input API.

Run inputs are unique per ``(flow run, key)`` in Prefect's database, so storing a vote under
``vote-<gate>-<hash of the voter's e-mail>`` is both the record and the "one vote per person"
rule, and it survives a restart of whoever wrote it. Only a vote that its path checked against
the policy is stored: a refused answer never takes the key of the person it names. Every
function takes an open ``PrefectClient``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from uuid import UUID

import httpx
from prefect.client.orchestration import PrefectClient
from pydantic import ValidationError

from core.approvals.requests import (
    REQUEST_KEY_PREFIX,
    VOTE_KEY_PREFIX,
    ApprovalRequest,
    request_key,
    vote_key,
)
from core.approvals.rules import Vote
from core.service_key import sign, verify

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
    key = vote_key(gate, vote.voter.key)
    for _ in range(2):
        try:
            await client.create_flow_run_input(
                flow_run_id=UUID(str(run_id)),
                key=key,
                value=vote.model_dump_json(),
                sender=f"{vote.voter.channel.value}:{vote.voter.id}",
            )
        except httpx.HTTPStatusError as ex:
            if _status(ex) != 409:
                raise
            if not await _drop_void_vote(client, run_id, gate, key):
                return False
        else:
            return True
    return False


async def _drop_void_vote(client: PrefectClient, run_id: UUID | str, gate: str, key: str) -> bool:
    """Delete what holds ``key`` if it can never count (an unsigned "Slack" vote, a vote of
    someone else, or junk written straight into Prefect; :func:`read_votes` skips all three),
    so a forgery cannot take a real voter's key; ``False`` when the key holds a genuine vote."""
    try:
        raw = await client.read_flow_run_input(flow_run_id=UUID(str(run_id)), key=key)
    except httpx.HTTPStatusError as ex:
        return _status(ex) == 404  # deleted meanwhile: the key is free again
    try:
        held = Vote.model_validate_json(raw)
    except ValidationError:
        held = None
    genuine = (
        held is not None
        and vote_key(gate, held.voter.key) == key
        and vote_is_authentic(run_id, gate, held)
    )
    if genuine:
        return False
    await client.delete_flow_run_input(flow_run_id=UUID(str(run_id)), key=key)
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
        try:
            vote = Vote.model_validate_json(item.value)
        except ValidationError:
            continue  # not a vote of this version's shape: it cannot count
        # The prefix of gate "x" also matches gate "x-y": keep only this gate's own keys.
        if item.key == vote_key(gate, vote.voter.key):
            votes.append(vote)
    return sorted(votes, key=lambda v: v.at)


def _signed_part(run_id: UUID | str, gate: str, vote: Vote) -> dict[str, object]:
    return {"run": str(run_id), "gate": gate, **vote.model_dump(mode="json", exclude={"signature"})}


def sign_vote(run_id: UUID | str, gate: str, vote: Vote) -> Vote:
    """``vote`` with the webhook service's signature over it, this run and this gate."""
    return vote.model_copy(update={"signature": sign("vote", _signed_part(run_id, gate, vote))})


def vote_is_authentic(run_id: UUID | str, gate: str, vote: Vote) -> bool:
    """Whether the vote's channel can vouch for it.

    A Slack vote is only as good as the service's signature: anyone with Prefect API access can
    write a run input that claims to be a Slack click. CLI and UI votes are claims by whoever
    holds Prefect API credentials, who are administrators of this system by definition; the
    policy decides whether those channels count at all.
    """
    if vote.voter.channel.value != "slack":
        return True
    return verify("vote", _signed_part(run_id, gate, vote), vote.signature)


async def write_note(client: PrefectClient, run_id: UUID | str, name: str, value: str) -> bool:
    """Write a once-per-run note: the first writer wins, a re-executed flow finds it.

    Args:
        client: An open Prefect client.
        run_id: The flow run.
        name: What the note is, e.g. ``<gate>-refused-2``; lowercase, digits and dashes.
        value: What it says.

    Returns:
        ``True`` for the first writer only.
    """
    try:
        await client.create_flow_run_input(
            flow_run_id=UUID(str(run_id)), key=f"note-{name}", value=json.dumps(value)
        )
    except httpx.HTTPStatusError as ex:
        if _status(ex) == 409:
            return False
        raise
    return True


async def claim_note(client: PrefectClient, run_id: UUID | str, name: str) -> bool:
    """Claim something to do once per run (post a message once); ``True`` for the first caller."""
    return await write_note(client, run_id, name, "claimed")


async def read_note(client: PrefectClient, run_id: UUID | str, name: str) -> str | None:
    """What a note says, or ``None`` if nobody wrote it yet."""
    try:
        raw = await client.read_flow_run_input(flow_run_id=UUID(str(run_id)), key=f"note-{name}")
    except httpx.HTTPStatusError as ex:
        if _status(ex) == 404:
            return None
        raise
    return json.loads(raw)


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
    """Requests stored on a run whose gate was never decided and was not marked expired.

    A gate that the flow decided has a ``decided`` note. One that was woken without a decision
    waits again as ``<gate>-r<n>``; Prefect stores each wait's form as ``paused-<key>-schema``
    (or ``suspended-``) and its answer as ``…-response``, so the gate is still open when its
    latest wait has no answer.

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
        if decided_key(request.gate) in keys or expired_key(request.gate) in keys:
            continue
        waits = [request.gate] + [
            f"{request.gate}-r{n}"
            for n in range(1, _MAX_VOTES)
            if {f"paused-{request.gate}-r{n}-schema", f"suspended-{request.gate}-r{n}-schema"}
            & keys
        ]
        latest = waits[-1]
        if {f"paused-{latest}-response", f"suspended-{latest}-response"} & keys:
            continue
        unanswered.append(request)
    return unanswered


def decided_key(gate: str) -> str:
    """Run-input key of the note the flow writes once it has decided a gate."""
    return f"note-{gate}-decided"


@dataclass(frozen=True)
class PrefectVoteStore:
    """The gate's ``VoteStore`` port on one flow run, through an open ``PrefectClient``."""

    client: PrefectClient
    run_id: str

    async def read_votes(self, gate: str) -> list[Vote]:
        return await read_votes(self.client, self.run_id, gate)

    def is_authentic(self, gate: str, vote: Vote) -> bool:
        return vote_is_authentic(self.run_id, gate, vote)

    async def record_vote(self, gate: str, vote: Vote) -> bool:
        return await record_vote(self.client, self.run_id, gate, vote)

    async def claim_note(self, name: str) -> bool:
        return await claim_note(self.client, self.run_id, name)
