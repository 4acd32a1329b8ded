"""What the gate's decision logic needs from the world, as ports: time, votes, and people.

``core.approvals.decision`` takes these; the Prefect gate (``tasks/approvals/gate.py``) plugs in
the system clock, the votes kept on the flow run (``tasks.approvals.store.PrefectVoteStore``) and
Slack (``tasks.approvals.notifier.SlackNotifier``). Tests plug in a fake clock and votes in a dict.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from core.approvals.requests import ApprovalDecision, ApprovalRequest
from core.approvals.rules import Vote


class Clock(Protocol):
    """Now, as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class VoteStore(Protocol):
    """The durable votes and notes of one run's gates: one vote per voter and gate."""

    async def read_votes(self, gate: str) -> list[Vote]:
        """Every vote stored on ``gate``, whoever wrote it."""
        ...

    def is_authentic(self, gate: str, vote: Vote) -> bool:
        """Whether ``vote`` was written by a path that checked it (signed), not forged."""
        ...

    async def record_vote(self, gate: str, vote: Vote) -> bool:
        """Store ``vote``; False when its voter has a vote on ``gate`` already."""
        ...

    async def claim_note(self, name: str) -> bool:
        """True for the first caller only: makes a notice happen once across restarts."""
        ...


class Notifier(Protocol):
    """Tells people how the gate is going (Slack); a run without Slack tells no one."""

    async def ask(self, request: ApprovalRequest) -> ApprovalRequest:
        """Put ``request`` before its approvers, once per gate; returns it as published
        (with where it was posted, so later messages can reply to it)."""
        ...

    async def follow_crashes(self, request: ApprovalRequest, *, crashed_before: bool) -> None:
        """While the run waits, make the request show a crash of the run; ``crashed_before``
        says the run crashed once already and waits again, so the request opens again."""
        ...

    async def decided(self, request: ApprovalRequest, decision: ApprovalDecision) -> None:
        """The request was decided: update its message."""
        ...

    async def announce(self, request: ApprovalRequest, text: str, *, broadcast: bool) -> None:
        """Say ``text`` in the request's thread (and the channel, when ``broadcast``)."""
        ...

    async def expired(self, request: ApprovalRequest) -> None:
        """Nobody decided in time: mark the request expired."""
        ...


class Silent:
    """The notifier of a gate without Slack."""

    async def ask(self, request: ApprovalRequest) -> ApprovalRequest:
        return request

    async def follow_crashes(self, request: ApprovalRequest, *, crashed_before: bool) -> None:
        return None

    async def decided(self, request: ApprovalRequest, decision: ApprovalDecision) -> None:
        return None

    async def announce(self, request: ApprovalRequest, text: str, *, broadcast: bool) -> None:
        return None

    async def expired(self, request: ApprovalRequest) -> None:
        return None
