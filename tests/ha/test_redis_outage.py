"""Redis goes away under the HA stack and comes back empty: while it is away the API refuses
to create runs (HTTP 500: a state change publishes events through Redis) but keeps answering
health checks; once it is back, runs are created and complete without restarting any Prefect
process.

The stack's Redis is a redis-server of this module's own (never the machine's shared one),
stopped and started again on the same port without persistence: the worst case, where every
event in flight, lease and docket entry is lost.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prefect.client.schemas.objects import StateType
from prefect.exceptions import PrefectHTTPStatusError

from tests.ha.conftest import HA, save_policy, start_onboarding, team, wait_final

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


async def test_redis_outage_refuses_new_runs_then_recovers_without_restarts(ha: HA, arize):
    first, second = ha.stack.api_urls
    await save_policy(first, arize.base_url)

    ha.redis.stop()
    try:
        async with httpx.AsyncClient(timeout=20, trust_env=False) as http:
            health = [(await http.get(f"{url}/health")).status_code for url in (first, second)]
        with pytest.raises(PrefectHTTPStatusError) as refused:
            await start_onboarding(second, team("redis-down", members=2))
        await asyncio.sleep(10)  # workers poll and the services process notices the outage
    finally:
        ha.redis.start()

    assert refused.value.response.status_code == 500
    assert health == [200, 200], "API servers stopped answering health checks without Redis"
    runs = [await start_onboarding(url, team(f"redis-back-{n}", members=2))
            for n, url in enumerate((first, second))]
    final = await wait_final(first, [r.id for r in runs], within=480)
    assert {r.state.type for r in final.values()} == {StateType.COMPLETED}, final
    for process in [*ha.stack.api_servers, ha.stack.services, *ha.stack.workers]:
        assert process is not None
        process.check_alive()
