"""`doctor --ha` against a real Prefect API: missing, disabled and outdated crash-recovery
automations are failures with a fix; deployments without the heartbeat setting too."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from prefect import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.exceptions import ObjectAlreadyExists

from cli.doctor import Report, Status
from cli.doctor_ha import PART, check_ha
from ops.crash_recovery import (
    HEARTBEAT_AUTOMATION,
    RESCHEDULE_AUTOMATION,
    crash_recovery_automations,
    ensure_crash_recovery,
)

POOL = "doctor-ha"


async def _remove_automations() -> None:
    async with get_client() as client:
        for name in (HEARTBEAT_AUTOMATION, RESCHEDULE_AUTOMATION):
            for automation in await client.read_automations_by_name(name):
                await client.delete_automation(automation.id)


async def _report() -> dict[str, tuple[Status, str, str]]:
    report = Report([])
    # The services probe has a test of its own, on the HA stack: tests/ha/test_services_restart.
    await check_ha(report, probe_seconds=None)
    return {c.name: (c.status, c.detail, c.fix) for c in report.checks if c.part == PART}


async def _deploy(name: str, env: dict[str, str] | None) -> None:
    async with get_client() as client:
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        await client.create_deployment(
            flow_id=await client.create_flow_from_name(f"doctor-ha-{name}"),
            name=name,
            entrypoint="flows/onboard_team/flow.py:onboard_team",
            work_pool_name=POOL,
            tags=["arize"],
            job_variables={"env": env} if env is not None else {},
        )


async def test_missing_then_current_automations(prefect_harness):
    await _remove_automations()
    found = await _report()
    assert found[HEARTBEAT_AUTOMATION][0] is Status.FAIL
    assert "ensure_crash_recovery" in found[RESCHEDULE_AUTOMATION][2]

    await ensure_crash_recovery(heartbeat_frequency=30, missed_heartbeats=3)
    found = await _report()
    assert found[HEARTBEAT_AUTOMATION][0] is Status.OK
    assert found[RESCHEDULE_AUTOMATION][0] is Status.OK


async def test_disabled_and_outdated_automations_fail(prefect_harness):
    await ensure_crash_recovery()
    async with get_client() as client:
        (heartbeat,) = await client.read_automations_by_name(HEARTBEAT_AUTOMATION)
        (reschedule,) = await client.read_automations_by_name(RESCHEDULE_AUTOMATION)
        # The shape of old: silence counted only after a first heartbeat.
        current = crash_recovery_automations()[0].trigger
        assert isinstance(current, EventTrigger)
        old = AutomationCore(
            name=HEARTBEAT_AUTOMATION,
            trigger=EventTrigger(
                after={"prefect.flow-run.heartbeat"}, expect=current.expect,
                match=current.match, match_related=current.match_related,
                for_each=current.for_each, posture=Posture.Proactive, threshold=1,
                within=timedelta(seconds=90),
            ),
            actions=crash_recovery_automations()[0].actions,
        )
        await client.update_automation(heartbeat.id, old)
        await client.pause_automation(reschedule.id)
    found = await _report()
    assert found[HEARTBEAT_AUTOMATION][0] is Status.FAIL
    assert "first heartbeat" in found[HEARTBEAT_AUTOMATION][1]
    assert found[RESCHEDULE_AUTOMATION][0] is Status.FAIL
    assert found[RESCHEDULE_AUTOMATION][1] == "disabled"
    await _remove_automations()


async def test_a_deployment_without_the_heartbeat_setting_fails(prefect_harness):
    await ensure_crash_recovery(heartbeat_frequency=30, missed_heartbeats=3)
    await _deploy("with-heartbeat", {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30"})
    found = await _report()
    assert found["heartbeat setting"][0] is Status.OK, found["heartbeat setting"]

    await _deploy("without-heartbeat", None)
    found = await _report()
    status, detail, fix = found["heartbeat setting"]
    assert status is Status.FAIL and "without-heartbeat" in detail and "deploy --all" in fix
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(
            "doctor-ha-without-heartbeat/without-heartbeat"
        )
        await client.delete_deployment(deployment.id)
