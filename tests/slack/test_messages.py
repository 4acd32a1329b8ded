"""The Block Kit approval message: what it shows, its buttons, and never a secret."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from core.approvals.requests import ApprovalRequest
from core.approvals.rules import ApprovalPolicy
from tasks.approvals.slack_blocks import (
    actions_block_id,
    button_value,
    decided_message,
    expired_message,
    parse_button_value,
    request_message,
)
from tests.fixtures.slack import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET

RUN_ID = "0b5a5b4e-6f57-4c1e-9a43-1f0c0d9a0c11"
PLAN_HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.fixture
def request_() -> ApprovalRequest:
    return ApprovalRequest(
        run_id=RUN_ID,
        gate="offboard-lee",
        runbook="offboard-user",
        subject="lee.leaver@acme.example",
        trigger="okta, event evt-42",
        requested_by="U0REQ",
        protected=["lee.leaver@acme.example"],
        plan_hash=PLAN_HASH,
        destructive=[
            "Revoke API key 'lee-laptop' of lee.leaver@acme.example",
            "Revoke service key 'lee-etl' in space search-ranking",
            "Delete user lee.leaver@acme.example",
        ],
        counts={"revoke api key": 2, "delete user": 1},
        timeout_seconds=3600,
        expires_at=datetime(2026, 11, 26, 15, 0, tzinfo=UTC),
        flow_run_url="http://127.0.0.1:4200/runs/flow-run/" + RUN_ID,
        policy=ApprovalPolicy(quorum=2),
        channel="C00000001",
        message_ts="1764165600.000001",
    )


def _text(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def _shown(blocks: list[dict]) -> str:
    return _text([b for b in blocks if b["type"] != "actions"])


def _buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_request_message_shows_the_plan(request_: ApprovalRequest) -> None:
    message = request_message(request_)
    text = _text(message.blocks)
    for expected in (
        "offboard-user",
        "lee.leaver@acme.example",
        "okta, event evt-42",
        "<@U0REQ>",
        "delete user: 1, revoke api key: 2",
        "Revoke service key 'lee-etl' in space search-ranking",
        PLAN_HASH[:12],
        f"<!date^{int(request_.expires_at.timestamp())}^",
        "no decision means rejected",
        f"<{request_.flow_run_url}|Open the flow run>",
        "Approvals needed",
    ):
        assert expected in text, expected
    assert PLAN_HASH not in _shown(message.blocks)  # only the short hash is shown
    assert "offboard-user" in message.text
    assert PLAN_HASH[:12] in message.text


def test_buttons_carry_only_run_gate_and_hash(request_: ApprovalRequest) -> None:
    approve, reject = _buttons(request_message(request_).blocks)
    assert approve["action_id"] == "approve"
    assert approve["style"] == "primary"
    assert set(approve["confirm"]) == {"title", "text", "confirm", "deny", "style"}
    assert reject["action_id"] == "reject"
    assert reject["style"] == "danger"
    assert "confirm" not in reject
    value = f"{RUN_ID}|offboard-lee|{PLAN_HASH}"
    assert approve["value"] == reject["value"] == value == button_value(request_)
    assert parse_button_value(value) == (RUN_ID, "offboard-lee", PLAN_HASH)
    assert parse_button_value("something-else") is None


def test_block_id_is_versioned(request_: ApprovalRequest) -> None:
    first = request_message(request_).blocks[-1]["block_id"]
    second = request_message(request_, version=2).blocks[-1]["block_id"]
    assert first == actions_block_id(request_, 1) != second
    assert len(first) <= 255


def test_long_plans_are_truncated(request_: ApprovalRequest) -> None:
    request_.destructive = [f"Delete project p-{i}" for i in range(100)]
    text = _text(request_message(request_).blocks)
    assert "…and 85 more" in text
    for block in request_message(request_).blocks:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000


def test_mrkdwn_is_escaped(request_: ApprovalRequest) -> None:
    request_.subject = "<!channel> & friends"
    text = _text(request_message(request_).blocks)
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; &amp; friends" in text


def test_no_secret_in_any_message(request_: ApprovalRequest) -> None:
    # A token pasted into a ticket title ends up in the trigger text: it must not reach Slack.
    request_.trigger = f"jira, ticket OPS-1 ({SLACK_BOT_TOKEN})"
    messages = [
        request_message(request_),
        decided_message(
            request_,
            approved=True,
            decided_by="U0ALICE",
            approvers=["U0ALICE", "U0BOB"],
            at=datetime.now(UTC),
        ),
        expired_message(request_, at=datetime.now(UTC)),
    ]
    for message in messages:
        dumped = message.text + _text(message.blocks)
        assert SLACK_BOT_TOKEN not in dumped
        assert SLACK_SIGNING_SECRET not in dumped
        assert "xoxb-" not in dumped


def test_decided_message_has_no_buttons_and_names_the_decider(request_: ApprovalRequest) -> None:
    at = datetime.now(UTC)
    approved = decided_message(
        request_, approved=True, decided_by="U0ALICE", approvers=["U0BOB", "U0ALICE"], at=at
    )
    assert _buttons(approved.blocks) == []
    text = _text(approved.blocks)
    assert "Approved* by <@U0ALICE> (with <@U0BOB>)" in text
    assert f"<!date^{int(at.timestamp())}^" in text
    rejected = decided_message(request_, approved=False, decided_by="U0BOB", approvers=[], at=at)
    assert "Rejected* by <@U0BOB>" in _text(rejected.blocks)
    assert rejected.text.startswith("Rejected")


def test_expired_message(request_: ApprovalRequest) -> None:
    message = expired_message(request_, at=request_.expires_at + timedelta(seconds=5))
    assert _buttons(message.blocks) == []
    assert "Expired" in _text(message.blocks)
    assert "treated as rejected" in _text(message.blocks)


def test_a_held_request_says_so_and_asks_for_break_glass(request_: ApprovalRequest) -> None:
    held = request_.model_copy(update={"held": "more than 5 destructive runs within the hour"})
    shown = _shown(request_message(held).blocks)
    assert "*HELD*: more than 5 destructive runs within the hour" in shown
    assert "break-glass only" in shown
    assert "HELD" not in _shown(request_message(request_).blocks)


def _header(blocks: list[dict]) -> str:
    return next(b for b in blocks if b["type"] == "header")["text"]["text"]


def test_the_header_says_how_the_request_ended(request_: ApprovalRequest) -> None:
    at = datetime.now(UTC)
    runbook = request_.runbook
    assert _header(request_message(request_).blocks) == f"Approval needed: {runbook}"
    approved = decided_message(request_, approved=True, decided_by="U0A", approvers=[], at=at)
    assert _header(approved.blocks) == f"Approved: {runbook}"
    rejected = decided_message(request_, approved=False, decided_by="U0A", approvers=[], at=at)
    assert _header(rejected.blocks) == f"Rejected: {runbook}"
    expired = expired_message(request_, at=at)
    assert _header(expired.blocks) == f"Expired (rejected): {runbook}"
