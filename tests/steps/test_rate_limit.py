"""A run's requests to Arize take their slots of the policy's Prefect rate limit in a few
reservations, never more than the server grants, and two runs together stay within one limit.

Counted at the HTTP level against the session's real Prefect server: every increment of the
limit, whoever sends it (Prefect's own ``rate_limit`` or this project's pacer).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

from arize_admin import AsyncArizeAdmin
from flows.onboard_team.flow import onboard_team
from flows.onboard_team.spec import OnboardTeamSpec
from tasks.reporting.report import RunStatus
from tasks.steps import throttle
from tests.fixtures.runbooks import example

pytestmark = pytest.mark.slow


async def create_limit(limit: int, per_second: float) -> str:
    name = f"arize-api-{uuid.uuid4().hex[:8]}"
    async with get_client() as client:
        await client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=name, limit=limit, slot_decay_per_second=per_second)
        )
    return name


@pytest.fixture
def increments(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Every increment request sent to Prefect: its slots and the status it got."""
    seen: list[dict[str, Any]] = []
    send = httpx.AsyncClient.send

    async def counting(self: httpx.AsyncClient, request: httpx.Request, *a: Any, **k: Any):
        response = await send(self, request, *a, **k)
        if request.url.path.endswith("/concurrency_limits/increment"):
            body = json.loads(request.content)
            seen.append({"slots": body["slots"], "status": response.status_code,
                         "names": body["names"]})
        return response

    monkeypatch.setattr(httpx.AsyncClient, "send", counting)
    yield seen


def team(members: int, space: str) -> OnboardTeamSpec:
    people = [
        {"name": f"Paced {i}", "email": f"paced{i}@acme.example", "space_role": "MEMBER"}
        for i in range(members)
    ]
    return example(OnboardTeamSpec, "onboard-team", space=space, roles=[], members=people)


async def test_a_run_reserves_its_slots_in_a_few_increments_each_request_covered(
    arize, runbook_policy, increments
):
    # setup's shape: as many slots as the rate, draining at the rate; Arize refuses any request
    # (reads too, as it documents a 429 on every endpoint) above the same rate.
    name = await create_limit(10, 10)
    runbook_policy.rate_limit = name
    await runbook_policy.asave("default", overwrite=True)
    arize.set_faults(max_rps=10)

    state = await onboard_team(spec=team(10, "paced-team"), return_state=True)
    outcome = await state.result()

    assert outcome.status is RunStatus.COMPLETED
    requests = arize.requests()["total"]
    pacer = throttle.of_run(state.state_details.flow_run_id)
    assert pacer is not None and pacer.handed_out == requests  # each went through the pacer
    # No 429: every request waited for its turn.
    assert arize.control("GET", "faults")["injected"] == 0
    ours = [i for i in increments if i["names"] == [name]]
    granted = [i["slots"] for i in ours if i["status"] == 200]
    # Every request, reads included, ran on a slot the server granted, and no reservation
    # exceeded the limit.
    assert sum(granted) >= requests > outcome.planned
    assert max(granted) <= 10
    # One increment per change was the old path: 30+ requests, each a chance of Prefect's
    # 2 s back-off on a busy SQLite server. A reservation is the whole limit here.
    assert len(granted) < requests / 2
    # A run alone waits for its slots to drain before asking again: never refused.
    assert all(i["status"] != 423 for i in ours)
    # The run's pacer paces only the run, not what its caller does afterwards.
    async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
        await client.users.find_by_email("paced0@acme.example")
    assert pacer.handed_out == requests


async def test_two_runs_together_get_no_more_slots_than_the_limit(prefect_harness, increments):
    # Two slots that barely drain (one per 20 s): whatever both runs ask, the server grants
    # two, and a pacer hands out only what was granted.
    name = await create_limit(2, 0.05)
    first, second = await throttle.pacer_for(name), await throttle.pacer_for(name)

    async def take(pacer: throttle.Pacer, wanted: int) -> None:
        for _ in range(wanted):
            async with pacer.request("DELETE", "/v2/users/x"):
                pass

    tries = [asyncio.ensure_future(take(p, 3)) for p in (first, second)]

    def refused() -> bool:
        return any(i["status"] == 423 for i in increments if i["names"] == [name])

    # Until the server has granted both slots and refused another: a refusal's Retry-After is
    # 20 s, so nothing more can be granted meanwhile. Conditions, not a sleep.
    async with asyncio.timeout(120):
        while not (first.granted + second.granted >= 2 and refused()):  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    for attempt in tries:
        attempt.cancel()
    for pacer in (first, second):
        pacer.close()

    assert first.granted + second.granted == 2
    # No request ran on a slot its run was not granted.
    assert first.handed_out <= first.granted and second.handed_out <= second.granted


async def test_a_missing_limit_stops_the_apply_and_names_the_fix(prefect_harness):
    with pytest.raises(throttle.RateLimitMissing, match=r"no-such-limit.*setup"):
        await throttle.pacer_for("no-such-limit")
