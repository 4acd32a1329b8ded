"""The gate's decision logic through its ports: a fake clock, votes in a dict, a notifier that
writes down what it was told. No Prefect, no Slack, no waiting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from core.approvals.decision import (
    MAX_STATE_MESSAGE,
    current_verdict,
    decision_of,
    expiry_message,
    hold_seconds,
    judge,
    remaining_seconds,
    tell_decided,
    tell_refused,
    wait_state_message,
)
from core.approvals.ports import Clock, Notifier, Silent, VoteStore
from core.approvals.requests import ApprovalDecision, ApprovalRequest
from core.approvals.rules import ApprovalPolicy, Directory, Subjects, Vote, VoteChannel, Voter

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PLAN_HASH = "ab" * 32
APPROVER = "ann@acme.example"
SECOND = "bo@acme.example"
REQUESTER = "req@acme.example"


@dataclass
class FakeClock:
    at: datetime = T0

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@dataclass
class MemoryVoteStore:
    """One vote per voter and gate, notes claimed once; ``forged`` votes fail authentication."""

    votes: dict[str, dict[str, Vote]] = field(default_factory=dict)
    notes: set[str] = field(default_factory=set)

    async def read_votes(self, gate: str) -> list[Vote]:
        return list(self.votes.get(gate, {}).values())

    def is_authentic(self, gate: str, vote: Vote) -> bool:
        return vote.signature != "forged"

    async def record_vote(self, gate: str, vote: Vote) -> bool:
        votes = self.votes.setdefault(gate, {})
        if vote.voter.key in votes:
            return False
        votes[vote.voter.key] = vote
        return True

    async def claim_note(self, name: str) -> bool:
        first = name not in self.notes
        self.notes.add(name)
        return first


@dataclass
class RecordingNotifier:
    decisions: list[ApprovalDecision] = field(default_factory=list)
    said: list[tuple[str, bool]] = field(default_factory=list)
    expirations: list[str] = field(default_factory=list)

    async def decided(self, request: ApprovalRequest, decision: ApprovalDecision) -> None:
        self.decisions.append(decision)

    async def announce(self, request: ApprovalRequest, text: str, *, broadcast: bool) -> None:
        self.said.append((text, broadcast))

    async def expired(self, request: ApprovalRequest) -> None:
        self.expirations.append(request.gate)

    async def ask(self, request: ApprovalRequest) -> ApprovalRequest:
        return request

    async def follow_crashes(self, request: ApprovalRequest, *, crashed_before: bool) -> None:
        return None


@dataclass
class Answer:
    approved: bool
    approver: str
    comment: str = ""


def _rules(**changes) -> ApprovalPolicy:
    return ApprovalPolicy(approver_emails=[APPROVER, SECOND], ui_votes=True, **changes)


def _request(rules: ApprovalPolicy, clock: Clock, *, held: str | None = None) -> ApprovalRequest:
    return ApprovalRequest(
        run_id="run-1",
        gate="approve-abababababababab",
        runbook="offboard-user",
        subject="lee@acme.example",
        trigger="okta",
        requested_by=REQUESTER,
        plan_hash=PLAN_HASH,
        destructive=["delete user lee@acme.example"],
        timeout_seconds=rules.timeout_seconds,
        expires_at=clock.now() + timedelta(seconds=rules.timeout_seconds),
        policy=rules,
        held=held,
    )


async def _judge(rules, request, answer, store, clock, *, held=None):
    return await judge(
        rules,
        request,
        Subjects.of(["lee@acme.example"], REQUESTER),
        Directory.of(rules, slack_configured=False),
        answer,
        plan_hash=PLAN_HASH,
        held=held,
        store=store,
        clock=clock,
    )


def test_the_fakes_fit_the_ports():
    ports: tuple[Clock, VoteStore, Notifier, Notifier] = (
        FakeClock(), MemoryVoteStore(), RecordingNotifier(), Silent()
    )
    assert len(ports) == 4


def test_the_hold_is_the_policys_until_the_request_runs_short_then_nothing():
    clock = FakeClock()
    rules = _rules(timeout_seconds=600, hold_seconds=120)
    request = _request(rules, clock)

    assert (remaining_seconds(request, clock), hold_seconds(rules, request, clock)) == (600, 120)
    clock.advance(550)
    assert (remaining_seconds(request, clock), hold_seconds(rules, request, clock)) == (50, 50)
    clock.advance(60)
    assert remaining_seconds(request, clock) == -10
    assert hold_seconds(rules, request, clock) <= 0  # suspend or expire at once, never hold


def test_the_expiry_message_names_the_plan_and_the_deadline():
    request = _request(_rules(timeout_seconds=600), FakeClock())
    assert expiry_message(request) == (
        "no decision on plan abababababab by 2026-03-02 09:10:00 UTC; treated as rejected, "
        "nothing was applied"
    )


async def test_a_permitted_ui_answer_becomes_a_vote_stamped_by_the_clock_and_approves():
    clock, store = FakeClock(), MemoryVoteStore()
    rules = _rules()
    request = _request(rules, clock)
    clock.advance(42)

    verdict = await _judge(rules, request, Answer(True, APPROVER.upper(), "ok"), store, clock)

    assert verdict.decided and [v.email for v in verdict.approvers] == [APPROVER]
    (vote,) = await store.read_votes(request.gate)
    stamped = T0 + timedelta(seconds=42)
    assert (vote.voter.channel, vote.at, vote.reason) == (VoteChannel.UI, stamped, "ok")
    decided = decision_of(verdict)
    assert decided.decision.approved and decided.decision.approvers == [APPROVER]


async def test_the_requesters_own_answer_is_refused_and_not_recorded():
    clock, store = FakeClock(), MemoryVoteStore()
    rules = _rules()
    request = _request(rules, clock)

    verdict = await _judge(rules, request, Answer(True, REQUESTER), store, clock)

    assert not verdict.decided
    assert "refused and not recorded" in verdict.refused[0]
    assert "asked for this run" in verdict.refused[0]
    assert await store.read_votes(request.gate) == []


async def test_a_second_different_answer_from_a_voter_counts_for_nothing():
    clock, store = FakeClock(), MemoryVoteStore()
    rules = _rules(quorum=2)
    request = _request(rules, clock)
    await _judge(rules, request, Answer(True, APPROVER), store, clock)

    verdict = await _judge(rules, request, Answer(False, APPROVER), store, clock)

    assert not verdict.decided
    assert verdict.refused[0].startswith(f"an answer by {APPROVER} counts for nothing")
    assert len(await store.read_votes(request.gate)) == 1


async def test_a_forged_vote_is_ignored_and_the_quorum_needs_two_real_ones():
    clock, store = FakeClock(), MemoryVoteStore()
    rules = _rules(quorum=2)
    request = _request(rules, clock)
    forged = Vote(
        voter=Voter(channel=VoteChannel.UI, id=SECOND, email=SECOND),
        approved=True, plan_hash=PLAN_HASH, at=T0, signature="forged",
    )
    await store.record_vote(request.gate, forged)

    short = await _judge(rules, request, Answer(True, APPROVER), store, clock)
    assert not short.decided
    assert any("not authentic" in why for why in short.refused)


async def test_short_of_the_quorum_the_thread_hears_it_once_per_attempt():
    clock, store, notifier = FakeClock(), MemoryVoteStore(), RecordingNotifier()
    rules = _rules(quorum=2)
    request = _request(rules, clock)
    verdict = await _judge(rules, request, Answer(True, APPROVER), store, clock)

    line = await tell_refused(request, 0, verdict, store, notifier)
    again = await tell_refused(request, 0, verdict, store, notifier)  # a restarted run
    await tell_refused(request, 1, verdict, store, notifier)

    assert line == again == "woken at attempt 1: Vote recorded: 1 of 2 approvals " + (
        f"({APPROVER} via ui); waiting for more."
    )
    assert len(notifier.said) == 2
    assert all(broadcast is False for _, broadcast in notifier.said)  # progress, not refusal


async def test_a_refusal_is_broadcast():
    clock, store, notifier = FakeClock(), MemoryVoteStore(), RecordingNotifier()
    rules = _rules()
    request = _request(rules, clock)
    verdict = await _judge(rules, request, Answer(True, "lee@acme.example"), store, clock)

    await tell_refused(request, 0, verdict, store, notifier)

    ((text, broadcast),) = notifier.said
    assert broadcast and text.startswith(":no_entry: An answer did not count")


async def test_a_held_gate_refuses_an_ordinary_approval_and_break_glass_releases_it():
    clock, store, notifier = FakeClock(), MemoryVoteStore(), RecordingNotifier()
    rules = _rules(break_glass=["boss@acme.example"])
    held = "5 leavers in an hour"
    request = _request(rules, clock, held=held)

    ordinary = await _judge(rules, request, Answer(True, APPROVER), store, clock, held=held)
    assert not ordinary.decided
    assert ordinary.refused[-1] == f"the run is held for break-glass approval: {held}"

    boss = Voter(channel=VoteChannel.CLI, id="boss@acme.example", email="boss@acme.example")
    await store.record_vote(
        request.gate,
        Vote(voter=boss, approved=True, plan_hash=PLAN_HASH, at=T0, break_glass=True,
             reason="payroll cut-off"),
    )
    released = await _judge(rules, request, Answer(True, "boss@acme.example"), store, clock,
                            held=held)
    decided = decision_of(released)
    await tell_decided(request, decided, released, notifier)

    assert decided.decision.approved and decided.decision.break_glass
    assert decided.decision.comment == "payroll cut-off"
    (shown,) = notifier.decisions
    assert shown.approver == "boss@acme.example"
    ((text, broadcast),) = notifier.said
    assert broadcast and "BREAK-GLASS" in text and "offboard-user lee@acme.example" in text


async def test_a_rejection_decides_at_once_and_names_who():
    clock, store = FakeClock(), MemoryVoteStore()
    rules = _rules(quorum=2)
    request = _request(rules, clock)

    verdict = await _judge(rules, request, Answer(False, SECOND, "not now"), store, clock)
    decided = decision_of(verdict)

    assert verdict.decided and not decided.decision.approved
    assert decided.decision.approvers == [SECOND]


@pytest.mark.parametrize("history", [[], ["woken at attempt 1: " + "x" * 2000]])
def test_the_wait_message_says_who_and_until_when_and_stays_short(history):
    clock = FakeClock()
    rules = _rules(timeout_seconds=600)
    text = wait_state_message(rules, _request(rules, clock), history, slack_configured=False)

    assert text.startswith("Waiting for approval until 2026-03-02 09:10:00 UTC by ")
    assert len(text) <= MAX_STATE_MESSAGE
    assert ("Last answer: woken at attempt 1" in text) is bool(history)


async def test_a_click_and_the_gate_count_the_same_votes():
    """The Slack click handler asks ``current_verdict`` whether a click decides; the gate
    judges with the same count, so a forged vote tips neither, and the second real approval
    decides both."""
    clock, store = FakeClock(), MemoryVoteStore()
    rules = _rules(quorum=2)
    request = _request(rules, clock)
    directory = Directory.of(rules, slack_configured=False)

    def vote(email: str, signature: str | None = None) -> Vote:
        voter = Voter(channel=VoteChannel.CLI, id=email, email=email)
        return Vote(voter=voter, approved=True, plan_hash=PLAN_HASH, at=clock.now(),
                    signature=signature)  # fmt: skip

    await store.record_vote(request.gate, vote(APPROVER))
    await store.record_vote(request.gate, vote(SECOND, signature="forged"))
    click = await current_verdict(request, directory, store)
    gate = await _judge(rules, request, Answer(True, APPROVER), store, clock)
    assert not click.decided and not gate.decided
    assert [v.email for v in click.approvers] == [v.email for v in gate.approvers] == [APPROVER]

    store.votes[request.gate].pop(Voter(channel=VoteChannel.CLI, id=SECOND, email=SECOND).key)
    await store.record_vote(request.gate, vote(SECOND))
    click = await current_verdict(request, directory, store)
    gate = await _judge(rules, request, Answer(True, SECOND), store, clock)
    assert click.decided and gate.decided
    assert {v.email for v in click.approvers} == {v.email for v in gate.approvers} == {
        APPROVER, SECOND
    }
