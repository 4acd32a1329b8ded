"""Runbook runs created through either API server run on the workers and complete."""

from __future__ import annotations

import httpx
import pytest
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import StateType

from arize_admin import AsyncArizeAdmin
from tasks.reporting.crash_history import was_rescheduled_after_crash
from tests.ha.conftest import HA, save_policy, start_onboarding, team, wait_final

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


async def test_runs_started_through_both_api_servers_complete(ha: HA, arize):
    first, second = ha.stack.api_urls
    await save_policy(second, arize.base_url)
    specs = [team(f"both-{n}", members=2) for n in range(4)]
    runs = [
        await start_onboarding(api_url, spec)
        for api_url, spec in zip([first, second] * 2, specs, strict=True)
    ]

    # Each server sees the runs the other created: one database behind both.
    async with PrefectClient(first) as one, PrefectClient(second) as two:
        for run in runs:
            assert (await one.read_flow_run(run.id)).id == (await two.read_flow_run(run.id)).id

    final = await wait_final(first, [r.id for r in runs], within=150)
    assert {r.state.type for r in final.values()} == {StateType.COMPLETED}
    async with PrefectClient(second) as client:
        for run in runs:
            assert not await was_rescheduled_after_crash(run.id, client)

    async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
        org = await client.organizations.find_by_name("Acme")
        spaces = sorted([s.name async for s in client.spaces.list(org_id=org.id)])
        users = [u async for u in client.users.list(email="both-")]
    assert [s for s in spaces if s.startswith("both-")] == [spec["space"] for spec in specs]
    assert len(users) == sum(len(spec["members"]) for spec in specs)

    # Both servers answer health checks after the work (neither one fell over).
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        for api_url in (first, second):
            assert (await http.get(f"{api_url}/health")).status_code == 200
