"""Every runbook path writes its evidence: each gated runbook applied, refused and expired, on
real Prefect (test harness) and the Arize emulator over HTTP, posting to the
webhook service on loopback; the records' content is checked, the chain verifies, the OCSF
events reach the JSON-lines sink, and no secret is in any of it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from core.evidence import EvidenceOutcome, StoredRecord, verify_chain
from flows.registry import REGISTRY, Runbook
from tasks.approvals.gate import ApprovalTimeout
from tasks.reporting import evidence as evidence_task
from tasks.reporting.report import RunStatus
from tasks.triggers import Trigger
from tests.evidence.service import SERVICE_KEY
from tests.fixtures.runbooks import APPROVER, admin_client, run_with_answer
from tests.fixtures.webhooks import WebhookServer, test_settings
from tests.runbooks.scenarios import NOT_SHARED, SCENARIOS, Scenario
from webhooks.evidence.store import chain_rows, stored_record

pytestmark = pytest.mark.slow

LEE = "lee.leaver@acme.example"
RUNBOOKS = {r.name: r for r in REGISTRY}
VERIFIED = "verified: a fresh plan after the apply found nothing left to change"


@pytest.fixture
def evidence_service(
    prefect_harness: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[WebhookServer]:
    """The webhook service with a chain of its own and a JSON-lines SIEM sink; the flows of
    this test post to it with the service key."""
    monkeypatch.setenv("ARIZE_RUNBOOKS_SERVICE_KEY", SERVICE_KEY)
    settings = test_settings(
        inbox_url=f"sqlite+aiosqlite:///{tmp_path / 'service.db'}",
        prefect_api_url=prefect_harness,
        siem_jsonl_path=tmp_path / "siem.jsonl",
    )
    with WebhookServer(settings) as server:
        monkeypatch.setenv("ARIZE_RUNBOOKS_SERVICE_URL", server.base_url)
        yield server


async def chain(server: WebhookServer) -> list[StoredRecord]:
    """Every stored record, after checking the chain."""
    engine = create_async_engine(server.settings.inbox_url)
    try:
        rows = [row async for row in chain_rows(engine)]
    finally:
        await engine.dispose()
    assert verify_chain(rows).ok
    return [stored_record(row) for row in rows]


async def siem_lines(server: WebhookServer, count: int) -> list[dict[str, Any]]:
    """The JSON-lines sink's events once ``count`` have arrived."""
    path = server.settings.siem_jsonl_path
    assert path is not None
    async with asyncio.timeout(60):
        while True:
            lines = path.read_text().splitlines() if path.exists() else []
            if len(lines) >= count:
                return [json.loads(line) for line in lines]
            await asyncio.sleep(0.2)


async def gated_example(name: str, arize: Any) -> tuple[Runbook, Any]:
    """The runbook's example, made destructive on the demo account where it needs to be."""
    runbook = RUNBOOKS[name]
    scenario = SCENARIOS.get(name, Scenario())
    async with admin_client(arize) as client:
        await scenario.prepare(client)
    return runbook, runbook.example(**scenario.spec)


def assert_common(stored: StoredRecord, runbook: str, plan_hash: str) -> None:
    record = stored.record
    assert record.runbook == runbook and record.plan_hash == plan_hash
    assert record.run_id and record.run_url and record.run_id in record.run_url
    assert record.change["action"] == record.action and record.target


async def test_offboard_user_applied_records_each_change_with_its_approval_and_read_back(
    arize, runbook_policy, evidence_service, caplog
):
    caplog.set_level(logging.INFO)
    secrets = (arize.admin_key, arize.key_for_email(LEE), SERVICE_KEY)
    trigger = Trigger(source="okta", event_id="okta-evt-77", requested_by="hr@acme.example")
    runbook = RUNBOOKS["offboard-user"]
    outcome = await run_with_answer(
        runbook.flow(spec=runbook.example(), trigger=trigger.signed()),
        "offboard-user", approved=True,
    )
    assert outcome.status is RunStatus.COMPLETED and outcome.applied

    records = await chain(evidence_service)
    assert len(records) == outcome.applied + outcome.already
    assert sum(r.record.outcome is EvidenceOutcome.APPLIED for r in records) == outcome.applied
    actions = {r.record.action for r in records}
    assert {"delete-user", "revoke-key"} <= actions
    for stored in records:
        record = stored.record
        assert_common(stored, "offboard-user", outcome.plan_hash)
        assert record.subject == LEE
        assert record.trigger.source == "okta" and record.trigger.event_id == "okta-evt-77"
        assert record.trigger.signed  # the service key signed it
        assert record.requested_by == "hr@acme.example"
        assert record.approval is not None and record.approval.approved
        assert record.approval.approvers == [APPROVER] and record.approval.channel == "prefect"
        times = record.timestamps
        assert times.approved and times.applied and times.verified
        assert times.requested <= times.approved <= times.applied <= times.verified
        assert record.read_back == VERIFIED
    # The run's outcome carries each change's chain hash (the access review's CSV shows them).
    assert sorted(outcome.evidence.values()) == sorted(r.hash for r in records)
    deleted = next(r.record for r in records if r.record.action == "delete-user")
    assert deleted.before.startswith("present") and deleted.after == "absent"

    events = await siem_lines(evidence_service, len(records))
    assert {e["key"] for e in events} == {r.hash for r in records}
    assert {e["event"]["class_uid"] for e in events} <= {3001, 3005, 3006}
    assert any(e["event"]["type_uid"] == 300106 for e in events)  # Account Change: Delete

    texts = [r.model_dump_json() for r in records]
    texts += [*(json.dumps(e) for e in events), caplog.text]
    for secret in secrets:
        assert not any(secret in text for text in texts)


async def test_onboard_team_applied_without_a_gate_records_no_approval(
    arize, runbook_policy, evidence_service, monkeypatch
):
    # One record per POST: a large plan's records go in several batches, in order.
    monkeypatch.setattr(evidence_task, "POST_BATCH", 1)
    runbook = RUNBOOKS["onboard-team"]
    outcome = await runbook.flow(spec=runbook.example())
    assert outcome.status is RunStatus.COMPLETED and outcome.applied

    records = await chain(evidence_service)
    assert len(records) == outcome.applied + outcome.already
    for stored in records:
        assert_common(stored, "onboard-team", outcome.plan_hash)
        record = stored.record
        assert record.approval is None and record.timestamps.approved is None
        assert record.trigger.source == "manual" and not record.trigger.signed
        assert record.outcome.succeeded and record.read_back == VERIFIED
    assert {"invite-user", "set-space-role"} & {r.record.action for r in records}
    assert len(records) > 1
    assert sorted(outcome.evidence.values()) == sorted(r.hash for r in records)


#: Every runbook with one approval gate (the access review and temporary access decide
#: elsewhere; tests/runbooks/scenarios.py says why).
GATED = [r.name for r in REGISTRY if r.destructive and r.name not in NOT_SHARED]


@pytest.mark.parametrize("name", [n for n in GATED if n != "offboard-user"])
async def test_every_gated_runbook_records_its_applied_changes(
    arize, runbook_policy, evidence_service, name
):
    runbook, spec = await gated_example(name, arize)
    outcome = await run_with_answer(runbook.flow(spec=spec), name, approved=True)
    assert outcome.status is RunStatus.COMPLETED

    records = await chain(evidence_service)
    assert len(records) == outcome.applied + outcome.already > 0
    assert sorted(outcome.evidence.values()) == sorted(r.hash for r in records)
    for stored in records:
        assert_common(stored, name, outcome.plan_hash)
        record = stored.record
        assert record.outcome.succeeded and record.read_back == VERIFIED
        assert record.approval is not None and record.approval.approvers == [APPROVER]
        times = record.timestamps
        assert times.requested <= times.approved <= times.applied <= times.verified  # type: ignore[operator]


@pytest.mark.parametrize("name", GATED)
async def test_a_refused_request_records_every_change_it_asked_for(
    arize, runbook_policy, evidence_service, name
):
    runbook, spec = await gated_example(name, arize)
    outcome = await run_with_answer(runbook.flow(spec=spec), name, approved=False)
    assert outcome.status is RunStatus.REJECTED

    records = await chain(evidence_service)
    assert len(records) == outcome.planned
    for stored in records:
        assert_common(stored, name, outcome.plan_hash)
        record = stored.record
        assert record.outcome is EvidenceOutcome.REFUSED
        assert record.approval is not None and record.approval.approved is False
        assert record.approval.approvers == [APPROVER]
        assert record.timestamps.applied is None and record.read_back is None
        assert record.before == record.after  # nothing changed
        assert "refused" in record.detail


@pytest.mark.parametrize("name", GATED)
async def test_an_expired_request_records_every_change_it_asked_for(
    arize, runbook_policy, evidence_service, name, gate_expires_at_once
):
    runbook, spec = await gated_example(name, arize)

    with pytest.raises(ApprovalTimeout):
        await runbook.flow(spec=spec)

    records = await chain(evidence_service)
    assert records
    for stored in records:
        record = stored.record
        assert record.runbook == name and record.outcome is EvidenceOutcome.EXPIRED
        assert record.approval is not None and record.approval.approved is None
        assert record.timestamps.approved is None and record.timestamps.applied is None
        assert "nobody approved in time" in record.detail


def test_publish_head_posts_the_verified_head_to_slack(
    slack_emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from typer.testing import CliRunner

    from cli.main import app as cli
    from tests.evidence.records import record
    from tests.evidence.service import evidence_api, signed_batch

    monkeypatch.setenv("ARIZE_RUNBOOKS_SERVICE_KEY", SERVICE_KEY)
    url = f"sqlite+aiosqlite:///{tmp_path / 'chain.db'}"

    async def append() -> None:
        async with evidence_api(url) as (client, _):
            body, headers = signed_batch([record(1), record(2)])
            assert (await client.post("/evidence/records", json=body, headers=headers)).is_success

    asyncio.run(append())
    monkeypatch.setenv("ARIZE_RUNBOOKS_SLACK_BOT_TOKEN", "xoxb-evidence-test-token")
    monkeypatch.setenv("ARIZE_RUNBOOKS_SLACK_BASE_URL", slack_emulator.base_url)
    result = CliRunner().invoke(
        cli, ["evidence", "publish-head", "--db", url, "--channel", "C-SECURITY"]
    )
    assert result.exit_code == 0, result.output
    messages = slack_emulator.messages()["messages"]
    posted = [m for m in messages if "Evidence chain" in m.get("text", "")]
    assert len(posted) == 1
    assert "Evidence chain head" in posted[0]["text"] and "row 2" in posted[0]["text"]
    assert "2 record(s) verified" in posted[0]["text"]


async def test_the_service_publishes_the_head_on_its_schedule(
    prefect_harness: str, tmp_path: Path
):
    heads = tmp_path / "heads.jsonl"
    settings = test_settings(
        inbox_url=f"sqlite+aiosqlite:///{tmp_path / 'service.db'}",
        prefect_api_url=prefect_harness,
        evidence_head_file=heads,
        evidence_head_every_hours=0.5 / 3600,  # every half second instead of daily
    )
    with WebhookServer(settings):
        async with asyncio.timeout(30):
            while True:  # polls a file: nothing to wait on
                if len(heads.read_text().splitlines() if heads.exists() else []) >= 2:
                    break
                await asyncio.sleep(0.2)
    published = [json.loads(line) for line in heads.read_text().splitlines()]
    assert all(p["verified"] and p["seq"] == 0 for p in published)
