"""Standing access survives the revoke; an extension racing an early revoke ends consistently."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from prefect import get_client

from arize_admin import AsyncArizeAdmin
from flows.time_bound_access.grant import GrantResult
from flows.time_bound_access.records import GrantEnded, GrantStatus, extend_grant, read_grant
from flows.time_bound_access.revoke_flow import revoke_expired_access, revoke_temporary_access
from tests.access.conftest import binding_of, grant, spec


async def test_elevation_is_undone_to_the_previous_role(arize, runbook_policy):
    # Dana is a MEMBER of fraud-detection (standing); she gets Space Editor for a while.
    async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
        space = await client.spaces.find_by_name("fraud-detection")
        member = await client.roles.find_by_name("MEMBER")
        editor = await client.roles.find_by_name("Space Editor")
    before = await binding_of(arize, "dana@acme.example", space.id, "SPACE")
    assert before is not None and before.role_id == member.id

    outcome = await grant(
        spec(email="dana@acme.example", role="Space Editor", project=None, duration=600)
    )
    assert outcome.result is GrantResult.GRANTED
    during = await binding_of(arize, "dana@acme.example", space.id, "SPACE")
    assert during.id == before.id and during.role_id == editor.id

    ended = await revoke_temporary_access(grant_id=outcome.grant_id, early=True, by="ops")

    assert ended.ended
    after = await binding_of(arize, "dana@acme.example", space.id, "SPACE")
    assert after is not None and after.role_id == member.id


async def test_existing_role_is_standing_and_never_granted_or_revoked(arize, runbook_policy):
    # Lee has Project Viewer on fraud-model already (seed): nothing to approve, grant or revoke.
    outcome = await grant(
        spec(email="lee.leaver@acme.example", project="fraud-model", duration=600)
    )

    assert outcome.result is GrantResult.STANDING and outcome.grant_id is None
    assert "standing" in outcome.message
    async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
        space = await client.spaces.find_by_name("fraud-detection")
        project = await client.projects.find_by_name("fraud-model", space_id=space.id)
    assert await binding_of(arize, "lee.leaver@acme.example", project.id, "PROJECT") is not None


async def test_role_changed_during_the_window_is_left_at_revoke(arize, runbook_policy):
    outcome = await grant(spec(duration=600))
    async with get_client() as client:
        record = await read_grant(client, outcome.grant_id)
    # An admin makes Sam a standing READ_ONLY on the project during the window.
    async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
        read_only = await client.roles.find_by_name("READ_ONLY")
        await client.role_bindings.update(record.binding_id, role_id=read_only.id)

    ended = await revoke_temporary_access(grant_id=record.id, early=True, by="ops")

    assert ended.ended and "left in place" in ended.message
    live = await binding_of(arize, "sam@acme.example", record.resource_id, "PROJECT")
    assert live is not None and live.role_id == read_only.id


async def test_binding_recreated_during_the_window_is_a_different_one_and_stays(
    arize, runbook_policy
):
    outcome = await grant(spec(duration=600))
    async with get_client() as client:
        record = await read_grant(client, outcome.grant_id)
    async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
        await client.role_bindings.delete(record.binding_id)
        standing = await client.role_bindings.create(
            user_id=record.user_id, role_id=record.role_id, resource_type="PROJECT",
            resource_id=record.resource_id,
        )

    await revoke_temporary_access(grant_id=record.id, early=True, by="ops")

    live = await binding_of(arize, "sam@acme.example", record.resource_id, "PROJECT")
    assert live is not None and live.id == standing.id


async def test_second_approved_request_extends_the_open_grant(arize, runbook_policy):
    first = await grant(spec(duration=60))
    second = await grant(spec(duration=600, reason="the incident is still open"))

    assert second.result is GrantResult.EXTENDED and second.grant_id == first.grant_id
    assert second.expires_at > first.expires_at + timedelta(seconds=400)
    # The revoke scheduled for the first expiry finds the grant not due and does nothing.
    async with get_client() as client:
        record = await read_grant(client, first.grant_id)
    assert record.status is GrantStatus.ACTIVE and len(record.extensions) == 1
    assert await revoke_expired_access() == []


async def test_concurrent_extend_and_early_revoke_end_consistently(arize, runbook_policy):
    for _ in range(3):
        outcome = await grant(spec(duration=600))
        later = datetime.now(UTC) + timedelta(hours=1)
        async with get_client() as client:
            extended, ended = await asyncio.gather(
                extend_grant(client, outcome.grant_id, later, "race"),
                revoke_temporary_access(grant_id=outcome.grant_id, early=True, by="ops"),
                return_exceptions=True,
            )
            record = await read_grant(client, outcome.grant_id)
        # Whatever the order, the early revoke wins: the grant is ended and its access gone,
        # and the extension either failed loudly or was overtaken, never silently kept.
        assert not isinstance(ended, BaseException), ended
        assert ended.ended
        assert record.status is GrantStatus.ENDED
        assert isinstance(extended, GrantEnded) or extended.expires_at == later
        assert await binding_of(arize, "sam@acme.example", record.resource_id, "PROJECT") is None
        assert not await revoke_expired_access()
        try:
            async with get_client() as client:
                await extend_grant(client, outcome.grant_id, later, "after the end")
        except GrantEnded:
            pass
        else:
            raise AssertionError("an ended grant was extended")
