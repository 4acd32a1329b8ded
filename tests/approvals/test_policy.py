"""The approval rules themselves: who may decide, and when the votes decide. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.approvals.rules import (
    ApprovalPolicy,
    Directory,
    Outcome,
    Subjects,
    Vote,
    VoteChannel,
    Voter,
    evaluate,
    refusal,
)

PLAN = "a" * 64
ALICE = Voter(channel=VoteChannel.SLACK, id="U0ALICE", email="alice@acme.example")
ALICE_CLI = Voter(channel=VoteChannel.CLI, id="alice@acme.example", email="alice@acme.example")
BOB = Voter(channel=VoteChannel.CLI, id="bob@acme.example", email="bob@acme.example")
LEE = Voter(channel=VoteChannel.CLI, id="lee@acme.example", email="lee@acme.example")
REQ = Voter(channel=VoteChannel.CLI, id="req@acme.example", email="req@acme.example")
UI_BOB = Voter(channel=VoteChannel.UI, id="bob@acme.example", email="bob@acme.example")

POLICY = ApprovalPolicy(
    approver_emails=["bob@acme.example", "req@acme.example", "lee@acme.example"],
    approver_slack_ids=["U0ALICE"],
    quorum=2,
    break_glass=["bob@acme.example", "lee@acme.example"],
)
SUBJECTS = Subjects.of(["Lee@acme.example"], "REQ@acme.example")
WITH_SLACK = Directory.of(POLICY, slack_configured=True)
NO_SLACK = Directory.of(POLICY, slack_configured=False)


def vote(voter: Voter, approved: bool = True, **fields: object) -> Vote:
    values: dict[str, object] = {"plan_hash": PLAN, "at": datetime.now(UTC), **fields}
    return Vote(voter=voter, approved=approved, **values)


@pytest.mark.parametrize(
    ("voter", "directory", "expected"),
    [
        (ALICE, WITH_SLACK, None),
        (BOB, WITH_SLACK, None),
        (LEE, WITH_SLACK, "concerns them"),
        (REQ, WITH_SLACK, "asked for this run"),
        (Voter(channel=VoteChannel.CLI, id="eve@acme.example"), WITH_SLACK, "not an approver"),
        (UI_BOB, WITH_SLACK, "via ui are not allowed"),
        (UI_BOB, NO_SLACK, None),
        (ALICE, NO_SLACK, "via slack are not allowed"),
    ],
)
def test_who_may_decide(voter: Voter, directory: Directory, expected: str | None) -> None:
    why = refusal(POLICY, voter, SUBJECTS, directory)
    if expected is None:
        assert why is None
    else:
        assert why is not None and expected in why


def test_the_requester_may_decide_only_when_the_policy_says_so() -> None:
    allowing = POLICY.model_copy(update={"allow_requester": True})
    assert refusal(allowing, REQ, SUBJECTS, WITH_SLACK) is None
    assert refusal(allowing, LEE, SUBJECTS, WITH_SLACK) is not None  # the subject, never


def test_cli_and_ui_switches() -> None:
    strict = POLICY.model_copy(update={"cli_votes": False, "ui_votes": False})
    assert "via cli are not allowed" in str(refusal(strict, BOB, SUBJECTS, NO_SLACK))
    assert "via ui are not allowed" in str(refusal(strict, UI_BOB, SUBJECTS, NO_SLACK))


def test_break_glass_is_for_named_people_and_never_for_the_subject() -> None:
    assert refusal(POLICY, BOB, SUBJECTS, WITH_SLACK, break_glass=True) is None
    assert "not named for break-glass" in str(
        refusal(POLICY, ALICE_CLI, SUBJECTS, WITH_SLACK, break_glass=True)
    )
    assert "concerns them" in str(refusal(POLICY, LEE, SUBJECTS, WITH_SLACK, break_glass=True))


def test_quorum_counts_distinct_people_across_channels() -> None:
    verdict = evaluate(
        POLICY, [vote(ALICE), vote(ALICE_CLI)], SUBJECTS, WITH_SLACK, plan_hash=PLAN
    )
    assert verdict.outcome is Outcome.PENDING and len(verdict.approvers) == 1
    verdict = evaluate(POLICY, [vote(ALICE), vote(BOB)], SUBJECTS, WITH_SLACK, plan_hash=PLAN)
    assert verdict.outcome is Outcome.APPROVED


def test_void_votes_do_not_count_and_say_why() -> None:
    votes = [
        vote(ALICE),
        vote(BOB, plan_hash="b" * 64),
        vote(LEE),
        vote(UI_BOB),
    ]
    verdict = evaluate(POLICY, votes, SUBJECTS, WITH_SLACK, plan_hash=PLAN, authentic={0, 1, 2})
    assert verdict.outcome is Outcome.PENDING
    reasons = " | ".join(verdict.refused)
    assert "was for plan bbbbbbbbbbbb" in reasons
    assert "concerns them" in reasons
    assert "not authentic" in reasons


def test_one_permitted_reject_decides_and_an_unpermitted_one_does_not() -> None:
    verdict = evaluate(
        POLICY, [vote(ALICE), vote(BOB, approved=False)], SUBJECTS, WITH_SLACK, plan_hash=PLAN
    )
    assert verdict.outcome is Outcome.REJECTED and verdict.rejected_by == BOB
    verdict = evaluate(POLICY, [vote(LEE, approved=False)], SUBJECTS, WITH_SLACK, plan_hash=PLAN)
    assert verdict.outcome is Outcome.PENDING


def test_a_held_gate_needs_break_glass() -> None:
    votes = [vote(ALICE), vote(BOB)]
    held = evaluate(POLICY, votes, SUBJECTS, WITH_SLACK, plan_hash=PLAN, held=True)
    assert held.outcome is Outcome.PENDING
    votes.append(vote(Voter(channel=VoteChannel.CLI, id="bob@acme.example"), break_glass=True))
    released = evaluate(POLICY, votes, SUBJECTS, WITH_SLACK, plan_hash=PLAN, held=True)
    assert released.outcome is Outcome.APPROVED and released.break_glass is not None
    assert released.summary().startswith("BREAK-GLASS")


def test_group_members_are_permitted_by_id_or_email() -> None:
    policy = ApprovalPolicy(approver_group="S0APPROVERS")
    directory = Directory.of(policy, ["U0CAROL", "carol@acme.example"], slack_configured=True)
    carol = Voter(channel=VoteChannel.CLI, id="Carol@Acme.example", email="carol@acme.example")
    assert refusal(policy, carol, SUBJECTS, directory) is None
    assert refusal(policy, ALICE, SUBJECTS, directory) is not None


def test_quorum_must_be_positive() -> None:
    with pytest.raises(ValueError, match="quorum"):
        ApprovalPolicy(quorum=0)


def test_a_space_can_name_its_own_approvers() -> None:
    policy = POLICY.model_copy(
        update={"approvers_by_space": {"fraud": ["lead@acme.example", "U0LEAD"]}}
    )
    fraud = policy.for_space("fraud")
    assert fraud.approver_emails == ["lead@acme.example"]
    assert fraud.approver_slack_ids == ["U0LEAD"] and fraud.approver_group is None
    assert policy.for_space("other") is policy and policy.for_space(None) is policy
    directory = Directory.of(fraud, slack_configured=False)
    assert refusal(fraud, BOB, SUBJECTS, directory) is not None
    lead = Voter(channel=VoteChannel.CLI, id="lead@acme.example", email="lead@acme.example")
    assert refusal(fraud, lead, SUBJECTS, directory) is None


def test_vote_keys_keep_every_distinct_email_apart() -> None:
    import re

    from core.approvals.requests import vote_key

    emails = ["jo.ann@acme.example", "jo_ann@acme.example", "jo-ann@acme.example",
              "jo+ann@acme.example", "joann@acme.example"]
    keys = {vote_key("approve-0123456789abcdef", e) for e in emails}
    assert len(keys) == len(emails)
    # Prefect allows only lowercase letters, digits and dashes in run-input keys.
    assert all(re.fullmatch(r"[a-z0-9-]+", k) for k in keys)
    # Case is the only folding: one person however they type their address.
    assert vote_key("g", "Jo.Ann@Acme.example") == vote_key("g", "jo.ann@acme.example")
    slack_jo = Voter(channel=VoteChannel.SLACK, id="U0JO", email="jo.ann@acme.example")
    cli_jo = Voter(channel=VoteChannel.CLI, id="Jo.Ann@acme.example", email="Jo.Ann@acme.example")
    assert slack_jo.key == cli_jo.key == "jo.ann@acme.example"


def test_two_people_whose_emails_differ_only_in_punctuation_are_two_approvers() -> None:
    policy = ApprovalPolicy(approver_emails=["jo.ann@acme.example", "jo_ann@acme.example"],
                            quorum=2)
    voters = [Voter(channel=VoteChannel.CLI, id=e, email=e) for e in policy.approver_emails]
    verdict = evaluate(
        policy,
        [vote(v) for v in voters],
        Subjects.of([], None),
        Directory.of(policy, slack_configured=False),
        plan_hash=PLAN,
    )
    assert verdict.outcome is Outcome.APPROVED
