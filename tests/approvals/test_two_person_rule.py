"""The two-person rule on every path: the flow itself decides on durable, policy-checked votes.

A real offboard-user run waits at its gate against the Arize emulator; each bypass attempt
wakes it (CLI, raw API resume, forged run input) and must leave the leaver in place, the run
waiting again, and the attempt in the report. The honest paths still finish.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from arize_admin import PredefinedRole
from cli.approvals import GateNotAnswered, answer_gate
from core.approvals.metrics import BREAK_GLASS_APPROVALS
from core.approvals.requests import ApprovalRequest
from core.approvals.rules import ApprovalPolicy, Vote, VoteChannel, Voter
from flows.offboard_user.flow import offboard_user
from tasks.approvals.store import read_request, read_votes, record_vote
from tasks.reporting.report import RunStatus
from tasks.triggers import Trigger
from tests.fixtures.runbooks import (
    BREAK_GLASS,
    admin_client,
    mutation_count,
    wait_for_paused_run,
    waits_again,
)

pytestmark = pytest.mark.slow

LEAVER = "lee.leaver@acme.example"
FIRST, SECOND = "approver@acme.example", "second.approver@acme.example"


@pytest.fixture
async def quorum_two(runbook_policy):
    """The test policy with quorum 2 of two named approvers, no UI votes, one break-glass."""
    runbook_policy.approval = ApprovalPolicy(
        approver_emails=[FIRST, SECOND],
        quorum=2,
        ui_votes=False,
        break_glass=[BREAK_GLASS],
        timeout_seconds=120,
        storm_limit=f"storm-{uuid.uuid4().hex[:8]}",
    )
    await runbook_policy.asave("default", overwrite=True)
    return runbook_policy


def spec(email: str = LEAVER) -> dict:
    return {"email": email, "reason": "left", "ticket": "HR-1"}


async def user_exists(arize, email: str) -> bool:
    async with admin_client(arize) as client:
        return await client.users.find_by_email(email) is not None


async def waiting(since: datetime):
    """The offboard run paused at its gate with its answer form saved (a raw resume before
    then is refused by Prefect, not by the flow), and the stored request."""
    run = await wait_for_paused_run("offboard-user", since)
    async with get_client() as client:
        request = await read_request(client, run.id, run.state.state_details.pause_key)
    assert request is not None
    return run, request


async def report_of(run_id) -> str:
    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    texts = [a.data for a in artifacts if (a.key or "").startswith("report")]
    assert texts, "the run wrote a report"
    return str(texts[-1])


async def end_with_reject(run_id) -> None:
    await answer_gate(run_id, approved=False, approver=SECOND, comment="ending the test")


async def test_one_cli_vote_under_quorum_two_applies_nothing(arize, quorum_two):
    since, before = datetime.now(UTC), mutation_count(arize)
    flow = asyncio.create_task(offboard_user(spec=spec()))
    run, request = await waiting(since)

    await answer_gate(run.id, approved=True, approver=FIRST)
    await waits_again(run.id, request.gate)
    assert await user_exists(arize, LEAVER), "one vote of two deleted nobody"
    assert mutation_count(arize) == before

    await end_with_reject(run.id)
    outcome = await flow
    assert outcome.status is RunStatus.REJECTED
    assert "1 of 2 approvals" in await report_of(run.id)


@pytest.mark.parametrize(
    "answer",
    [
        {"approved": True, "approver": "ceo@acme.example", "comment": "trust me"},
        {"approved": True, "approver": FIRST, "comment": "from the UI form"},
    ],
    ids=["made-up-approvers", "ui-vote-not-allowed"],
)
async def test_a_raw_or_ui_resume_is_refused(arize, quorum_two, answer):
    since, before = datetime.now(UTC), mutation_count(arize)
    flow = asyncio.create_task(offboard_user(spec=spec()))
    run, request = await waiting(since)

    async with get_client() as client:
        result = await client.resume_flow_run(run.id, run_input=answer)
    assert result.status.value == "ACCEPT"  # Prefect resumes it: only the flow can refuse
    await waits_again(run.id, request.gate)
    assert await user_exists(arize, LEAVER)
    assert mutation_count(arize) == before

    await end_with_reject(run.id)
    outcome = await flow
    assert outcome.status is RunStatus.REJECTED
    report = await report_of(run.id)
    assert "via ui are not allowed" in report
    assert answer["approver"] in report


async def forge(run_id, request: ApprovalRequest, voter: Voter, **fields) -> None:
    """Write a vote straight into Prefect, as anyone with API access could, then wake the run."""
    vote = Vote(
        voter=voter, approved=True, plan_hash=request.plan_hash, at=datetime.now(UTC)
    ).model_copy(update=fields)
    async with get_client() as client:
        assert await record_vote(client, run_id, request.gate, vote)
        await client.resume_flow_run(
            run_id, run_input={"approved": True, "approver": voter.id, "comment": ""}
        )


@pytest.mark.parametrize(
    ("voter", "fields", "reason"),
    [
        (Voter(channel=VoteChannel.CLI, id=FIRST, email=FIRST), {"plan_hash": "0" * 64},
         "was for plan 000000000000"),
        (Voter(channel=VoteChannel.CLI, id=LEAVER, email=LEAVER), {},
         "may not decide a run that concerns them"),
        (Voter(channel=VoteChannel.CLI, id=FIRST, email=FIRST), {"break_glass": True},
         "not named for break-glass"),
        (Voter(channel=VoteChannel.SLACK, id="U0FAKE", email=SECOND), {},
         "not authentic"),
    ],
    ids=["stale-plan-hash", "subject", "break-glass-not-named", "unsigned-slack-vote"],
)
async def test_forged_votes_do_not_count(arize, quorum_two, voter, fields, reason):
    since, before = datetime.now(UTC), mutation_count(arize)
    flow = asyncio.create_task(offboard_user(spec=spec()))
    run, request = await waiting(since)
    # A legitimate first vote, so a single forged one would complete the quorum if it counted.
    if voter.email != FIRST:
        await answer_gate(run.id, approved=True, approver=FIRST)
        request_gate = (await waits_again(run.id, request.gate)).state.state_details.pause_key
    else:
        request_gate = request.gate

    await forge(run.id, request, voter, **fields)
    await waits_again(run.id, request_gate)
    assert await user_exists(arize, LEAVER)
    assert mutation_count(arize) == before

    await end_with_reject(run.id)
    assert (await flow).status is RunStatus.REJECTED
    assert reason in await report_of(run.id)


async def test_the_cli_refuses_the_subject_and_unnamed_break_glass(arize, quorum_two):
    since = datetime.now(UTC)
    flow = asyncio.create_task(offboard_user(spec=spec()))
    run, request = await waiting(since)

    with pytest.raises(GateNotAnswered, match="concerns them"):
        await answer_gate(run.id, approved=True, approver=LEAVER)
    with pytest.raises(GateNotAnswered, match="not named for break-glass"):
        await answer_gate(
            run.id, approved=True, approver=FIRST, break_glass=True, comment="urgent"
        )
    with pytest.raises(GateNotAnswered, match="not an approver"):
        await answer_gate(run.id, approved=True, approver="stranger@acme.example")
    async with get_client() as client:
        still = await client.read_flow_run(run.id)
    assert still.state.is_paused() and still.state.state_details.pause_key == request.gate
    await end_with_reject(run.id)
    assert (await flow).status is RunStatus.REJECTED
    assert await user_exists(arize, LEAVER)


async def test_two_cli_approvers_complete_the_run(arize, quorum_two):
    since = datetime.now(UTC)
    flow = asyncio.create_task(offboard_user(spec=spec()))
    run, request = await waiting(since)

    await answer_gate(run.id, approved=True, approver=FIRST)
    await waits_again(run.id, request.gate)
    await answer_gate(run.id, approved=True, approver=SECOND)
    outcome = await flow

    assert outcome.status is RunStatus.COMPLETED
    assert outcome.approver == f"{FIRST}, {SECOND}"
    assert not await user_exists(arize, LEAVER)


async def test_break_glass_by_a_named_person_completes_loudly(arize, quorum_two):
    since = datetime.now(UTC)
    before = BREAK_GLASS_APPROVALS.labels(runbook="offboard-user")._value.get()
    flow = asyncio.create_task(offboard_user(spec=spec()))
    run, _ = await waiting(since)

    await answer_gate(
        run.id, approved=True, approver=BREAK_GLASS, break_glass=True, comment="incident 42"
    )
    outcome = await flow

    assert outcome.status is RunStatus.COMPLETED and outcome.break_glass
    assert not await user_exists(arize, LEAVER)
    assert (await report_of(run.id)).startswith("# BREAK-GLASS")
    assert BREAK_GLASS_APPROVALS.labels(runbook="offboard-user")._value.get() == before + 1


async def test_a_leaver_storm_holds_the_sixth_run_until_break_glass(arize, quorum_two):
    quorum_two.approval = quorum_two.approval.model_copy(update={"quorum": 1})
    await quorum_two.asave("default", overwrite=True)
    emails = [f"storm{i}@acme.example" for i in range(6)]
    async with admin_client(arize) as client:
        for email in emails:
            await client.users.create(
                name=email, email=email, role=PredefinedRole(name="MEMBER"), invite_mode="NONE"
            )
    since = datetime.now(UTC)
    flows = [
        asyncio.create_task(
            offboard_user(
                spec=spec(email),
                trigger=Trigger(source="okta", event_id=f"evt-{email}").signed(),
            )
        )
        for email in emails
    ]
    requests = await _all_waiting(since, len(emails))
    held = [r for r in requests if r.held]
    assert len(held) == 1, [r.held for r in requests]
    assert "leaver storm" in held[0].held

    (held_run,) = [r for r in requests if r.held]
    # A normal approval cannot release a held run, so the CLI refuses it and stores nothing;
    # break-glass does release it.
    with pytest.raises(GateNotAnswered, match="held for break-glass approval"):
        await answer_gate(held_run.run_id, approved=True, approver=FIRST)
    async with get_client() as client:
        assert await read_votes(client, held_run.run_id, held_run.gate) == []
    assert await user_exists(arize, held_run.subject)
    await answer_gate(
        held_run.run_id, approved=True, approver=BREAK_GLASS, break_glass=True,
        comment="HR confirmed the bulk termination",
    )
    for request in requests:
        if request is not held_run:
            await answer_gate(request.run_id, approved=False, approver=SECOND)
    outcomes = await asyncio.gather(*flows)
    completed = [o for o in outcomes if o.status is RunStatus.COMPLETED]
    assert [o.subject for o in completed] == [held_run.subject]
    assert completed[0].break_glass
    assert not await user_exists(arize, held_run.subject)


async def test_an_unsigned_trigger_is_recorded_as_an_unverified_claim(arize, quorum_two):
    since = datetime.now(UTC)
    forged = Trigger(source="jira", ticket="OPS-1", requested_by=FIRST)
    flow = asyncio.create_task(offboard_user(spec=spec(), trigger=forged))
    run, request = await waiting(since)

    assert request.trigger.startswith("manual")
    assert "ignored an unsigned trigger claiming: jira" in request.trigger
    # The claimed requester still may not approve their own request.
    with pytest.raises(GateNotAnswered, match="may not decide"):
        await answer_gate(run.id, approved=True, approver=FIRST)
    await end_with_reject(run.id)
    await flow


async def _all_waiting(since: datetime, count: int) -> list[ApprovalRequest]:
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    async with get_client() as client, asyncio.timeout(120):
        while True:
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    start_time=FlowRunFilterStartTime(after_=since),
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.PAUSED])
                    ),
                )
            )
            if len(runs) >= count:
                requests = [
                    await read_request(client, r.id, r.state.state_details.pause_key)
                    for r in runs
                ]
                return [r for r in requests if r is not None]
            await asyncio.sleep(0.5)



async def test_approvers_whose_emails_differ_only_in_punctuation_are_two_voters(
    arize, quorum_two
):
    jo_dot, jo_plus = "jo.ann@acme.example", "jo+ann@acme.example"
    quorum_two.approval = quorum_two.approval.model_copy(
        update={"approver_emails": [jo_dot, jo_plus]}
    )
    await quorum_two.asave("default", overwrite=True)
    since = datetime.now(UTC)
    flow = asyncio.create_task(offboard_user(spec=spec()))
    run, request = await waiting(since)

    await answer_gate(run.id, approved=True, approver=jo_dot)
    await waits_again(run.id, request.gate)
    await answer_gate(run.id, approved=True, approver=jo_plus)  # not "already voted"
    outcome = await flow

    assert outcome.status is RunStatus.COMPLETED
    assert outcome.approver == f"{jo_dot}, {jo_plus}"
    assert not await user_exists(arize, LEAVER)


async def test_a_refused_ui_answer_is_not_the_persons_vote_and_the_run_says_why(
    arize, quorum_two
):
    since = datetime.now(UTC)
    flow = asyncio.create_task(offboard_user(spec=spec()))
    run, request = await waiting(since)

    # The first approver answers the resume form, which this policy does not count.
    async with get_client() as client:
        form = {"approved": True, "approver": FIRST, "comment": "from the UI form"}
        assert (await client.resume_flow_run(run.id, run_input=form)).status.value == "ACCEPT"
    key = (await waits_again(run.id, request.gate)).state.state_details.pause_key
    async with get_client() as client:
        assert await read_votes(client, run.id, request.gate) == []
        paused = await client.read_flow_run(run.id)
    message = paused.state.message or ""
    assert "refused and not recorded as a vote" in message
    assert "answers via ui are not allowed by the policy" in message
    assert f"by 2 different people of: {FIRST}, {SECOND}" in message

    # Their CLI vote is still theirs to cast, and with the second approver's it decides.
    await answer_gate(run.id, approved=True, approver=FIRST)
    await waits_again(run.id, key)
    await answer_gate(run.id, approved=True, approver=SECOND)
    outcome = await flow
    assert outcome.status is RunStatus.COMPLETED
    assert outcome.approver == f"{FIRST}, {SECOND}"
    assert "via ui are not allowed" in await report_of(run.id)
