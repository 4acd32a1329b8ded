"""grant-temporary-access and its revoke, on the Arize emulator and the Prefect test harness."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from prefect import get_client

from cli.approvals import GateNotAnswered, answer_gate
from flows.time_bound_access.grant import GrantResult, grant_temporary_access
from flows.time_bound_access.records import GrantStatus, clock, read_grant
from flows.time_bound_access.revoke_flow import revoke_expired_access, revoke_temporary_access
from tasks.triggers import Trigger, TriggerSource
from tests.access.conftest import (
    APPROVER,
    GRANT_FLOW,
    REQUESTER,
    binding_of,
    grant,
    spec,
)
from tests.fixtures.runbooks import wait_for_paused_run


async def test_grant_then_revoke_at_expiry(arize, runbook_policy, monkeypatch):
    outcome = await grant(spec(duration=600))

    assert outcome.result is GrantResult.GRANTED, outcome.message
    async with get_client() as client:
        record = await read_grant(client, outcome.grant_id)
    assert record is not None and record.status is GrantStatus.ACTIVE
    assert APPROVER in record.approved_by
    assert record.requested_by == "rita.requester@acme.example"
    live = await binding_of(arize, "sam@acme.example", record.resource_id, "PROJECT")
    assert live is not None and live.id == record.binding_id and live.role_id == record.role_id

    early = await revoke_temporary_access(grant_id=record.id)
    assert not early.ended and "not due" in early.message
    assert await binding_of(arize, "sam@acme.example", record.resource_id, "PROJECT") is not None

    # Ten minutes pass (the grants' clock moves; the rest of the run is real).
    later = record.expires_at - datetime.now(UTC) + timedelta(seconds=1)
    monkeypatch.setattr(clock, "offset", later)
    ended = await revoke_temporary_access(grant_id=record.id)

    assert ended.ended and ended.status is GrantStatus.ENDED
    assert await binding_of(arize, "sam@acme.example", record.resource_id, "PROJECT") is None
    async with get_client() as client:
        after = await read_grant(client, record.id)
    assert after.end is not None and after.end.done and after.end.reason == "expired"
    again = await revoke_temporary_access(grant_id=record.id)
    assert not again.ended and "already ended" in again.message
    assert await revoke_expired_access() == []


async def test_approvers_named_for_the_space_decide_there(arize, runbook_policy):
    """The policy names fraud-detection's own approver: the general approver is refused there."""
    space_lead = "fiona.fraudlead@acme.example"
    runbook_policy.approval = runbook_policy.approval.model_copy(
        update={"approvers_by_space": {"fraud-detection": [space_lead]}}
    )
    await runbook_policy.asave("default", overwrite=True)

    async def answer() -> None:
        run = await wait_for_paused_run(GRANT_FLOW, since)
        with pytest.raises(GateNotAnswered, match="not an approver"):
            await answer_gate(run.id, approved=True, approver=APPROVER)
        await answer_gate(run.id, approved=True, approver=space_lead)

    since = datetime.now(UTC)
    answerer = asyncio.create_task(answer())
    outcome = await grant_temporary_access(
        spec=spec(duration=30),
        trigger=Trigger(source=TriggerSource.MANUAL, requested_by=REQUESTER).signed(),
    )
    await answerer

    assert outcome.result is GrantResult.GRANTED, outcome.message
    async with get_client() as client:
        record = await read_grant(client, outcome.grant_id)
    assert record is not None and record.approved_by is not None
    assert space_lead in record.approved_by and APPROVER not in record.approved_by
    await revoke_temporary_access(grant_id=record.id, early=True, by=space_lead)
