"""A worker and its flow processes are SIGKILLed mid-apply (a lost machine): the heartbeat
automation marks their runs Crashed, the reschedule automation puts them back to Scheduled,
the surviving worker runs them again under the same ids, and Arize converges, nothing doubled.
"""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

import pytest
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.client.schemas.objects import StateType

from arize_admin import ApiKeyType, AsyncArizeAdmin
from ops.crash_recovery import (
    MISSED_HEARTBEAT_MESSAGE,
    RESCHEDULED_STATE_NAME,
)
from ops.processes import ManagedProcess
from ops.worker_stop import flow_run_processes
from tasks.reporting.crash_history import crash_resumptions, was_rescheduled_after_crash
from tests.fixtures.runbooks import mutation_count, set_faults
from tests.ha.conftest import HA, save_policy, start_onboarding, team, wait_final

# Detection alone takes up to two heartbeat intervals (60 s); a loaded 2-core machine needs
# minutes more to start the flow processes again.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

MEMBERS = 8
TEAMS = 3


def holding_runs(workers: list[ManagedProcess], run_ids: list[UUID]) -> list[ManagedProcess]:
    """Workers that have the flow-run process of one of ``run_ids`` beneath them right now (an
    earlier module's run, still exiting under a worker of the shared stack, does not count)."""
    return [
        w for w in workers if w.pid and not flow_run_processes(w.pid).keys().isdisjoint(run_ids)
    ]


async def test_killed_worker_runs_resume_under_their_ids_and_converge(ha: HA, arize):
    api_url = ha.stack.api_urls[0]
    await save_policy(api_url, arize.base_url)
    # Slow Arize down so each run spends many seconds in apply.
    set_faults(arize, latency_ms=600)
    specs = [team(f"crash-{n}", members=MEMBERS) for n in range(TEAMS)]
    runs = [await start_onboarding(ha.stack.api_urls[n % 2], s) for n, s in enumerate(specs)]
    ids = [r.id for r in runs]

    async with PrefectClient(api_url) as client:
        deadline = time.monotonic() + 120
        while True:
            states = [(await client.read_flow_run(i)).state for i in ids]
            running = sum(s is not None and s.type is StateType.RUNNING for s in states)
            holders = holding_runs(ha.stack.workers, ids)
            if running == TEAMS and holders and mutation_count(arize) >= TEAMS * 3:
                break
            assert time.monotonic() < deadline, f"runs never all RUNNING: {states}"
            await asyncio.sleep(0.5)
    victim = holders[0]
    killed = victim.kill_with_children()
    assert len(killed) >= 2, "the worker had no flow process to kill"
    ha.stack.workers.remove(victim)

    final = await wait_final(api_url, ids, within=480)
    assert {r.state.type for r in final.values()} == {StateType.COMPLETED}, final

    async with PrefectClient(ha.stack.api_urls[1]) as client:
        resumed = [i for i in ids if await was_rescheduled_after_crash(i, client)]
        assert resumed, "no run was held by the killed worker"
        for run_id in resumed:
            history = await client.read_flow_run_states(run_id)
            (resumption,) = crash_resumptions(history)
            assert resumption.crash_message == MISSED_HEARTBEAT_MESSAGE
            assert RESCHEDULED_STATE_NAME in [s.name for s in history]
            assert final[run_id].run_count == 2
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
            )
            (report,) = [a for a in artifacts if (a.key or "").startswith("report-")]
            assert "resumed after a crash" in str(report.data), "the report says so"
        for run_id in set(ids) - set(resumed):
            assert final[run_id].run_count == 1

    async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
        org = await client.organizations.find_by_name("Acme")
        for spec in specs:
            spaces = [s async for s in client.spaces.list(org_id=org.id) if s.name == spec["space"]]
            roles = [r async for r in client.roles.list() if r.name == spec["roles"][0]["name"]]
            users = [u async for u in client.users.list(email=f"{spec['space']}.")]
            assert len(spaces) == len(roles) == 1, spec["space"]
            assert sorted(u.email for u in users) == sorted(m["email"] for m in spec["members"])
            keys = [
                k
                async for k in client.api_keys.list(
                    space_id=spaces[0].id, key_type=ApiKeyType.SERVICE
                )
            ]
            assert [k.name for k in keys] == [spec["service_key"]["name"]]
