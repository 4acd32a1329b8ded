"""The Slack approval gate end to end: a real paused Prefect run, signed clicks, the emulator."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client

from core.approvals.requests import ApprovalRequest
from core.evidence.expired import expired_request_records
from emulator.slack import SlackEmulatorServer
from emulator.slack.interactions import block_actions_payload, sign_payload
from tasks.approvals.store import read_request, read_votes
from tests.approvals.conftest import (
    ALICE,
    APPLIED,
    BOB,
    CAROL,
    LEE,
    MALLORY,
    REQUESTER,
    GatedRun,
    send,
)
from tests.fixtures.slack import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET

pytestmark = pytest.mark.slow


def ephemerals(emulator: SlackEmulatorServer, user: str) -> list[str]:
    return [e["text"] for e in emulator.messages()["ephemerals"] if e["user"] == user]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def top_level(emulator: SlackEmulatorServer) -> list[dict[str, Any]]:
    return [m for m in emulator.messages()["messages"] if not m.get("thread_ts")]


async def votes(run: GatedRun) -> list[str]:
    async with get_client() as client:
        return [v.voter.id for v in await read_votes(client, run.run_id, run.gate)]


async def test_approve_resumes_once_and_updates_the_message(
    gated_run: Callable[..., GatedRun],
    service: Callable[[], Any],
    slack_emulator: SlackEmulatorServer,
) -> None:
    run = gated_run()
    await run.paused()
    assert len(top_level(slack_emulator)) == 1  # posted once though the task ran twice
    async with service() as client:
        response = await send(client, run.click(ALICE))
    assert response.status_code == 200
    assert response.content == b""
    state = await run.finished()
    assert state.is_completed()
    decision = await state.result()
    assert decision["approved"] is True
    assert decision["approver"] == ALICE
    assert "alice@acme.example" in decision["comment"]
    assert APPLIED.count(run.run_id) == 1
    message = run.message()
    assert buttons(message) == []
    assert "Approved* by <@U0ALICE>" in str(message["blocks"])
    assert "<!date^" in str(message["blocks"])
    replies = [m for m in slack_emulator.messages()["messages"] if m.get("thread_ts") == run.ts]
    assert [r["text"] for r in replies] == ["Applied."]
    dumped = str(slack_emulator.messages())
    assert SLACK_BOT_TOKEN not in dumped and SLACK_SIGNING_SECRET not in dumped


async def test_a_single_reject_rejects(
    gated_run: Callable[..., GatedRun], service: Callable[[], Any]
) -> None:
    run = gated_run(quorum=2)
    await run.paused()
    async with service() as client:
        await send(client, run.click(BOB, "reject"))
    decision = await (await run.finished()).result()
    assert decision["approved"] is False
    assert decision["approver"] == BOB
    assert run.run_id not in APPLIED
    assert "Rejected* by <@U0BOB>" in str(run.message()["blocks"])
    assert buttons(run.message()) == []


async def test_quorum_survives_a_restart_and_ignores_repeats(
    gated_run: Callable[..., GatedRun],
    service: Callable[[], Any],
    slack_emulator: SlackEmulatorServer,
) -> None:
    run = gated_run(quorum=2)
    await run.paused()
    first = run.click(ALICE)
    async with service() as client:
        assert (await send(client, first)).status_code == 200
        # Slack (or an attacker) re-sends the same valid request: no second vote.
        assert (await send(client, first)).status_code == 200
    assert (await run.state_now()).state.is_paused()
    assert await votes(run) == [ALICE]
    assert ephemerals(slack_emulator, ALICE) == [
        "Your approval is recorded: 1 so far, 2 needed.",
        "You already voted on this request (an approval via slack); this click counts for "
        "nothing.",
    ]
    assert buttons(run.message())  # still waiting, still clickable
    # A new service instance: nothing but the flow run remembers Alice's vote.
    async with service() as client:
        await send(client, run.click(CAROL))
    decision = await (await run.finished()).result()
    assert decision["approved"] is True
    assert decision["approver"] == CAROL
    assert APPLIED.count(run.run_id) == 1
    text = str(run.message()["blocks"])
    assert "Approved* by <@U0CAROL> (with <@U0ALICE>)" in text


async def test_outsiders_requester_and_subject_are_refused(
    gated_run: Callable[..., GatedRun],
    service: Callable[[], Any],
    slack_emulator: SlackEmulatorServer,
) -> None:
    run = gated_run()
    await run.paused()
    before = run.message()
    async with service() as client:
        for user in (MALLORY, REQUESTER, LEE):
            assert (await send(client, run.click(user))).status_code == 200
        await send(client, run.click(MALLORY, "reject"))
    assert (await run.state_now()).state.is_paused()
    assert await votes(run) == []
    assert run.message() == before
    assert (
        ephemerals(slack_emulator, MALLORY)
        == [
            "Your click was not recorded as a vote: mallory (mallory@acme.example) via slack is "
            "not an approver under the policy."
        ]
        * 2
    )
    for user in (REQUESTER, LEE):
        assert ephemerals(slack_emulator, user) == [
            "You may not decide this request: you asked for it or it concerns you. Your click "
            "was not recorded as a vote."
        ]
    async with service() as client:
        await send(client, run.click(BOB))
    assert (await (await run.finished()).result())["approver"] == BOB


async def test_requester_may_approve_when_allowed(
    gated_run: Callable[..., GatedRun], service: Callable[[], Any]
) -> None:
    run = gated_run(allow_requester=True)
    await run.paused()
    async with service() as client:
        await send(client, run.click(REQUESTER))
    assert (await (await run.finished()).result())["approver"] == REQUESTER


async def test_concurrent_clicks_make_one_decision(
    gated_run: Callable[..., GatedRun],
    service: Callable[[], Any],
    slack_emulator: SlackEmulatorServer,
) -> None:
    run = gated_run()
    await run.paused()
    clicks = [run.click(ALICE), run.click(ALICE), run.click(BOB), run.click(CAROL)]
    async with service() as one, service() as two:
        responses = await asyncio.gather(
            *(send(one if i % 2 else two, c) for i, c in enumerate(clicks))
        )
    assert [r.status_code for r in responses] == [200] * 4
    decision = await (await run.finished()).result()
    assert decision["approved"] is True
    assert APPLIED.count(run.run_id) == 1
    message = slack_emulator.state.find_message(ts=run.ts)
    assert message is not None and message.updates == 1
    assert f"Approved* by <@{decision['approver']}>" in str(message.blocks)
    told = [e["text"] for e in slack_emulator.messages()["ephemerals"]]
    # Everyone but the winner hears why their click did not decide.
    assert len(told) == 3
    assert all("already" in t for t in told)


async def test_timeout_rejects_and_marks_expired(
    gated_run: Callable[..., GatedRun],
    service: Callable[[], Any],
    slack_emulator: SlackEmulatorServer,
) -> None:
    run = gated_run(timeout=3)
    await run.posted()  # a 3 s pause can be over before a poll sees it: GatedRun.posted
    old_click = run.click(ALICE)
    state = await run.finished()
    assert await run.was_paused()
    assert await state.result(raise_on_failure=False) is not None
    assert run.run_id not in APPLIED
    message = run.message()
    assert buttons(message) == []
    assert "Expired" in str(message["blocks"])
    async with service() as client:
        await send(client, old_click)
    (told,) = ephemerals(slack_emulator, ALICE)
    assert "expired" in told or "already decided" in told
    assert await votes(run) == []


async def test_stale_plan_and_other_gate_clicks_are_refused(
    gated_run: Callable[..., GatedRun],
    service: Callable[[], Any],
    slack_emulator: SlackEmulatorServer,
) -> None:
    run = gated_run()
    await run.paused()
    message = run.message()
    approve = buttons(message)[0]
    stale = dict(approve, value=f"{run.run_id}|{run.gate}|{'0' * 64}")
    other_gate = dict(approve, value=f"{run.run_id}|another-gate|{run.fields['plan_hash']}")
    async with service() as client:
        for action in (stale, other_gate):
            payload = block_actions_payload(
                user_id=ALICE,
                action=action,
                block_id=message["blocks"][-1]["block_id"],
                channel_id=message["channel"],
                message=message,
            )
            await send(client, sign_payload(payload, signing_secret=SLACK_SIGNING_SECRET))
    assert [("out of date" in t) for t in ephemerals(slack_emulator, ALICE)] == [True, True]
    assert await votes(run) == []
    assert (await run.state_now()).state.is_paused()
    late = run.click(BOB)  # sent after the decision, when the buttons are gone
    async with service() as client:
        await send(client, run.click(ALICE))
    await run.finished()
    async with service() as client:
        await send(client, late)
    (told,) = ephemerals(slack_emulator, BOB)
    assert "already decided" in told


async def _request_of(run: GatedRun) -> ApprovalRequest:
    async with get_client() as client:
        request = await read_request(client, run.run_id, run.gate)
    assert request is not None
    return request


async def test_sweeper_marks_gates_nobody_marked(
    gated_run: Callable[..., GatedRun],
    slack_emulator: SlackEmulatorServer,
    prefect_harness: str,
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime, timedelta

    from core.evidence import EvidenceOutcome
    from webhooks.approvals import SlackApprovalHandler, prefect_client_factory
    from webhooks.evidence.store import EvidenceStore, chain_rows, stored_record
    from webhooks.expiry_sweep import ExpirySweep
    from webhooks.inbox import Inbox

    since = datetime.now(UTC) - timedelta(seconds=1)
    silent = gated_run(timeout=3, mark_on_timeout=False)
    marked = gated_run(timeout=3)
    await silent.posted()  # 3 s pauses can be over before a poll sees them: GatedRun.posted
    await marked.posted()
    assert (await silent.finished()).is_failed()
    await marked.finished()
    assert await silent.was_paused() and await marked.was_paused()
    assert buttons(silent.message())  # nobody updated it
    handler = SlackApprovalHandler(
        bot_token=SLACK_BOT_TOKEN,
        slack_base_url=slack_emulator.base_url,
        prefect_client=prefect_client_factory(prefect_harness),
    )
    async with Inbox(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}") as inbox:
        sweep = ExpirySweep(handler.prefect, handler.slack, EvidenceStore(inbox), handler.now)
        assert await sweep.once(since=since) == 1
        assert buttons(silent.message()) == []
        assert "Expired" in str(silent.message()["blocks"])
        assert await sweep.once(since=since) == 0
        # A replica sweeping the same request again appends nothing new.
        await sweep.evidence.append(expired_request_records(await _request_of(silent)))
        chain = [stored_record(row).record async for row in chain_rows(inbox.engine)]
    # No flow code ran to record the expiry: the sweep did, one record per destructive change.
    assert [(r.action, r.outcome) for r in chain] == [
        ("revoke-key", EvidenceOutcome.EXPIRED),
        ("delete-user", EvidenceOutcome.EXPIRED),
    ]
    assert {r.run_id for r in chain} == {silent.run_id}
    assert chain[1].change["email"] == "lee.leaver@acme.example"
    assert chain[0].trigger.source == "okta" and chain[0].trigger.signed
    assert chain[0].approval is not None and chain[0].approval.approved is None
    assert slack_emulator.state.find_message(ts=marked.ts).updates == 1  # type: ignore[union-attr]
    # The suspended run had no code left to write its report: the sweep wrote it, once.
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with get_client() as client:
        reports = await client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[uuid.UUID(silent.run_id)])
            )
        )
    assert len(reports) == 1
    assert "— expired" in str(reports[0].data) and "nothing was changed" in str(reports[0].data)


async def test_an_approval_click_on_a_held_run_is_not_stored_as_a_vote(
    gated_run: Callable[..., GatedRun],
    service: Callable[[], Any],
    slack_emulator: SlackEmulatorServer,
) -> None:
    run = gated_run(held="leaver storm: 6 destructive runs within the hour")
    await run.paused()
    async with service() as client:
        await send(client, run.click(ALICE))
    assert await votes(run) == []
    assert ephemerals(slack_emulator, ALICE) == [
        "Your click was not recorded as a vote: the run is held for break-glass approval "
        "(leaver storm: 6 destructive runs within the hour); an ordinary approval cannot "
        "release it. A person named for break-glass runs `arize-runbooks approve --break-glass`."
    ]
    async with service() as client:  # a rejection still counts
        await send(client, run.click(ALICE, "reject"))
    assert (await (await run.finished()).result())["approved"] is False
