"""grant-temporary-access and its revoke, on the Arize emulator and the Prefect test harness."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from prefect import get_client

from flows.grant_temporary_access.flow import GrantResult
from flows.revoke_expired_access.flow import revoke_expired_access, revoke_temporary_access
from tasks.access_grants import GrantStatus, read_grant
from tests.access.conftest import APPROVER, binding_of, grant, spec, until


async def test_grant_then_revoke_at_expiry(arize, runbook_policy):
    outcome = await grant(spec(duration=20))

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

    await until(lambda: _past(record.expires_at))
    ended = await revoke_temporary_access(grant_id=record.id)

    assert ended.ended and ended.status is GrantStatus.ENDED
    assert await binding_of(arize, "sam@acme.example", record.resource_id, "PROJECT") is None
    async with get_client() as client:
        after = await read_grant(client, record.id)
    assert after.end is not None and after.end.done and after.end.reason == "expired"
    again = await revoke_temporary_access(grant_id=record.id)
    assert not again.ended and "already ended" in again.message
    assert await revoke_expired_access() == []


async def _past(moment: datetime) -> bool:
    await asyncio.sleep(0)
    return datetime.now(UTC) >= moment
