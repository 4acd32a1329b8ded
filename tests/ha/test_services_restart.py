"""A Prefect service whose start fails is started again, and crash recovery still acts;
``doctor --ha`` finds out when the services do not act at all.

``prefect server services start`` left such a service dead, silently, for the life of the
process: when it was ReactiveTriggers, no automation saw another event and a run whose worker
died stayed Running (CI, 2026-12-07: both HA stacks, started on a loaded machine, crashed no
run in 10 minutes). The stack runs ``arize-runbooks prefect-services`` instead.

The failure is injected, not hoped for: the services process is restarted while a transaction
holds the ``automation`` table, so ReactiveTriggers' first query (loading the automations)
times out. Once the log says so, the lock is released. Then a runbook run is set Running with
no process behind it: only the heartbeat automation can crash it, and only the reschedule
automation can bring it back for a worker to complete.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import StateType
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Pending, Running, Scheduled

from cli.doctor import Report, Status
from cli.doctor_ha import check_ha
from ops.crash_recovery import MISSED_HEARTBEAT_MESSAGE, RESCHEDULED_STATE_NAME
from ops.postgres import database_url
from tasks.reporting.crash_history import crash_resumptions
from tests.ha.conftest import HA, save_policy, team, wait_final
from tests.webhooks.conftest import eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

DIED = "Prefect service ReactiveTriggers stopped with"


@pytest.fixture(autouse=True)
def services_left_running(ha: HA) -> Iterator[None]:
    """Whatever a test here finds, the session's stack has a services process again after
    it: a `.ci/run` of 2026-12-07 saw a failed assertion here leave it stopped, and the next
    tests on the stack fail for that alone."""
    yield
    services = ha.stack.services
    if services is not None and not services.running():
        services.start()


async def test_a_service_dead_at_start_is_started_again_and_crash_recovery_still_acts(
    ha: HA, arize
):
    stack = ha.stack
    api_url = stack.api_urls[0]
    await save_policy(api_url, arize.base_url)
    services = stack.services
    assert services is not None
    offset = services.log_path.stat().st_size
    first = services.process
    dsn = database_url(stack.options.server_dsn, stack.options.database, driver="postgresql")

    async def since_restart() -> str:
        return services.log_path.read_bytes()[offset:].decode(errors="replace")

    async def logged_death() -> str | None:
        new = await since_restart()
        return new if DIED in new else None

    async def log_end() -> str:
        return f"{DIED!r} never logged; the log ends:\n{(await since_restart())[-3000:]}"

    # Stopped before the lock is taken: under it, a `.ci/run` (2026-12-07) saw the SIGTERM
    # outlast its 20 s, most likely a service's query on the locked table waiting for it.
    # Only the start has to meet the lock.
    await asyncio.to_thread(services.stop)
    assert first is not None and first.returncode == 0, "SIGTERM stops it cleanly"
    holder = await asyncpg.connect(dsn)
    try:
        async with holder.transaction():
            await holder.execute("LOCK TABLE automation IN ACCESS EXCLUSIVE MODE")
            await asyncio.to_thread(services.start)
            log = await eventually(logged_death, within=180, interval=0.5, explain=log_end)
    finally:
        await holder.close()
    # The type of the error, never its text (which can hold a statement's parameters).
    assert "stopped with TimeoutError" in log or "stopped with DBAPIError" in log, log
    assert "SELECT" not in log
    services.check_alive()

    async with PrefectClient(api_url) as client:
        deployment = await client.read_deployment_by_name("onboard-team/onboard-team")
        run = await client.create_flow_run_from_deployment(
            deployment.id,
            parameters={"spec": team("svc-restart", members=2)},
            # No worker takes it before it is made Running below.
            state=Scheduled(scheduled_time=datetime.now(UTC) + timedelta(hours=1)),
        )
        await client.set_flow_run_state(run.id, Pending(), force=True)
        await client.set_flow_run_state(run.id, Running(), force=True)

    final = (await wait_final(api_url, [run.id], within=480))[run.id]
    assert final.state is not None and final.state.type is StateType.COMPLETED, final.state
    async with PrefectClient(api_url) as client:
        history = await client.read_flow_run_states(run.id)
    (resumption,) = crash_resumptions(history)
    assert resumption.crash_message == MISSED_HEARTBEAT_MESSAGE
    assert RESCHEDULED_STATE_NAME in [s.name for s in history]



async def test_doctor_probes_that_the_services_act_on_events(ha: HA):
    services = ha.stack.services
    assert services is not None

    async def probe(seconds: float) -> tuple[Status, str, str]:
        report = Report([])
        with temporary_settings({PREFECT_API_URL: ha.stack.api_urls[1]}):
            await check_ha(report, probe_seconds=seconds)
        (found,) = [c for c in report.checks if c.name == "services act on events"]
        return found.status, found.detail, found.fix

    status, detail, _ = await probe(120)
    assert status is Status.OK, detail

    await asyncio.to_thread(services.stop)
    try:
        status, detail, fix = await probe(15)
    finally:
        await asyncio.to_thread(services.start)
    assert status is Status.FAIL
    assert "would stay Running" in detail and "arize-runbooks prefect-services" in fix

    status, detail, _ = await probe(120)
    assert status is Status.OK, detail
    async with PrefectClient(ha.stack.api_urls[0]) as client:
        left = [a.name for a in await client.read_automations() if "doctor probe" in a.name]
    assert left == [], "every probe automation is deleted"
