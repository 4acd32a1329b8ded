"""`doctor --ha`: is crash recovery switched on, and can it see the runs it watches?

Four things must hold for a run whose worker dies to be crashed and rescheduled: both
automations exist and are enabled (and the heartbeat one counts silence from a run's start,
not only from its first heartbeat), the runbook deployments make their flow runs heartbeat at
the interval the automation expects, the flow runs the workers start really do heartbeat, and
Prefect's services act on events at all. The last is a probe: a throw-away automation that
does nothing, an event it matches, and the wait for its action's record. A services process
whose triggers died at start passes every other check (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from prefect import get_client
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterTags,
    FlowRunFilter,
    FlowRunFilterStartTime,
    FlowRunFilterTags,
)
from prefect.client.schemas.sorting import FlowRunSort
from prefect.events.actions import DoNothing
from prefect.events.clients import get_events_client
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.events.schemas.events import Event, ResourceSpecification

from ops.crash_recovery import (
    HEARTBEAT_AUTOMATION,
    RESCHEDULE_AUTOMATION,
    RUNBOOK_TAG,
    crash_recovery_automations,
    last_heartbeat,
)

if TYPE_CHECKING:
    from cli.doctor import Report

PART = "ha"
HEARTBEAT_VARIABLE = "PREFECT_FLOWS_HEARTBEAT_FREQUENCY"
ENSURE = (
    "run `python -c 'import asyncio; from ops.crash_recovery import ensure_crash_recovery; "
    "asyncio.run(ensure_crash_recovery())'` (or `arize-runbooks ha up`)"
)
RECENT_RUNS = 5
PROBE_EVENT = "arize-runbooks.doctor.probe"
ACTED = "prefect.automation.action.executed"
#: How long the probe waits for the services to act: they load a new automation within 5 s
#: (their periodic reconcile) and persist events in batches.
PROBE_SECONDS = 60.0
#: The probe event is sent again this often until the action's record is seen: one sent
#: before the services had loaded the probe automation is not matched.
PROBE_RESEND_SECONDS = 5.0


async def check_ha(
    report: Report, client: PrefectClient | None = None, *,
    probe_seconds: float | None = PROBE_SECONDS,
) -> None:
    """Add the crash-recovery checks to ``report``; never raises for a broken part.

    ``probe_seconds=None`` leaves out the services probe, which takes seconds (the tests of
    the other checks use it; the probe's own test runs on the HA stack).
    """
    if client is None:
        async with get_client() as own:
            await check_ha(report, own, probe_seconds=probe_seconds)
        return
    from cli.doctor import Status

    try:
        within = await _check_automations(report, client)
        await _check_deployment_heartbeat(report, client, within)
        await _check_runs_heartbeat(report, client)
        if probe_seconds is not None:
            await _check_services_act(report, client, probe_seconds)
    except Exception as exc:  # an unreachable API is reported by the prefect checks
        report.add(PART, "crash recovery", Status.FAIL,
                   f"could not read it from the Prefect API: {type(exc).__name__}",
                   "check PREFECT_API_URL and that the API server answers")


async def _check_automations(report: Report, client: PrefectClient) -> timedelta | None:
    """Both automations exist, are enabled and are the current shape; the silence window."""
    from cli.doctor import Status

    wanted = {a.name: a for a in crash_recovery_automations()}
    within: timedelta | None = None
    for name in (HEARTBEAT_AUTOMATION, RESCHEDULE_AUTOMATION):
        found = await client.read_automations_by_name(name)
        if not found:
            report.add(PART, name, Status.FAIL, "missing: a crashed run stays crashed", ENSURE)
            continue
        automation = found[0]
        if not automation.enabled:
            report.add(PART, name, Status.FAIL, "disabled",
                       f"enable it in the UI (Automations) or {ENSURE}")
            continue
        trigger = automation.trigger
        expected = wanted[name].trigger
        starts = set(getattr(trigger, "after", ()))
        if starts != set(getattr(expected, "after", ())):
            report.add(PART, name, Status.FAIL,
                       "an older version: it does not count silence from Pending and Running, "
                       "so a run killed before its first heartbeat stays Running", ENSURE)
            continue
        if name == HEARTBEAT_AUTOMATION:
            within = getattr(trigger, "within", None)
            report.add(PART, name, Status.OK, f"enabled; a run silent for {within} is crashed")
        else:
            report.add(PART, name, Status.OK, "enabled")
    return within


async def _check_deployment_heartbeat(
    report: Report, client: PrefectClient, within: timedelta | None
) -> None:
    """Every runbook deployment sets the heartbeat, and the automation's window fits it."""
    from cli.doctor import Status

    deployments = await client.read_deployments(
        deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[RUNBOOK_TAG]))
    )
    if not deployments:
        report.add(PART, "heartbeat setting", Status.SKIP, "no runbook deployment yet")
        return
    missing: list[str] = []
    frequencies: set[int] = set()
    for deployment in deployments:
        env = (deployment.job_variables or {}).get("env") or {}
        value = env.get(HEARTBEAT_VARIABLE)
        if value is None:
            missing.append(deployment.name)
        else:
            frequencies.add(int(value))
    if missing:
        report.add(PART, "heartbeat setting", Status.FAIL,
                   f"{HEARTBEAT_VARIABLE} is not set for {', '.join(sorted(missing))}: their runs "
                   "heartbeat only if their worker's environment says so",
                   "run `prefect --no-prompt deploy --all` from this checkout "
                   "(prefect.yaml sets it)")
        return
    detail = f"{HEARTBEAT_VARIABLE}={'/'.join(str(f) for f in sorted(frequencies))} s"
    if within is not None and any(within < timedelta(seconds=2 * f) for f in frequencies):
        report.add(PART, "heartbeat setting", Status.FAIL,
                   f"{detail}, but the automation crashes a run after {within} of silence: "
                   "live runs would be crashed",
                   f"{ENSURE} with heartbeat_frequency={max(frequencies)}")
        return
    report.add(PART, "heartbeat setting", Status.OK, f"{detail} for {len(deployments)} deployments")


async def _check_runs_heartbeat(report: Report, client: PrefectClient) -> None:
    """The latest runbook runs started by workers heartbeated (each run heartbeats at start)."""
    from cli.doctor import Status

    runs = await client.read_flow_runs(
        flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[RUNBOOK_TAG]),
            start_time=FlowRunFilterStartTime(after_=datetime.now(UTC) - timedelta(days=7)),
        ),
        sort=FlowRunSort.START_TIME_DESC,
        limit=RECENT_RUNS * 4,
    )
    runs = [r for r in runs if r.deployment_id is not None][:RECENT_RUNS]
    if not runs:
        report.add(PART, "flow runs heartbeat", Status.SKIP,
                   "no runbook run from a worker in the last 7 days to look at")
        return
    silent = [r.name for r in runs if await last_heartbeat(client, r.id) is None]
    if silent:
        report.add(PART, "flow runs heartbeat", Status.FAIL,
                   f"{len(silent)} of the last {len(runs)} runs never heartbeated "
                   f"({', '.join(silent)}): crash recovery cannot tell them from dead ones",
                   f"give the workers {HEARTBEAT_VARIABLE}=30, or redeploy from this checkout")
        return
    report.add(PART, "flow runs heartbeat", Status.OK,
               f"the last {len(runs)} runbook runs from workers heartbeated")


async def _check_services_act(report: Report, client: PrefectClient, seconds: float) -> None:
    """A throw-away automation's action runs on an event it matches (module docstring)."""
    from cli.doctor import Status

    probe = uuid.uuid4().hex
    resource = f"arize-runbooks.doctor.{probe}"
    automation_id = await client.create_automation(
        AutomationCore(
            name=f"arize-runbooks doctor probe {probe}",
            description="Made and deleted by `arize-runbooks doctor --ha`.",
            trigger=EventTrigger(
                expect={PROBE_EVENT},
                match=ResourceSpecification({"prefect.resource.id": resource}),
                posture=Posture.Reactive, threshold=1, within=timedelta(0),
            ),
            actions=[DoNothing()],
        )
    )
    started = time.monotonic()
    sent = -PROBE_RESEND_SECONDS
    try:
        async with get_events_client() as events:
            while True:
                now = time.monotonic() - started
                if now - sent >= PROBE_RESEND_SECONDS:
                    await events.emit(
                        Event(event=PROBE_EVENT, resource={"prefect.resource.id": resource})
                    )
                    sent = now
                # Made anew each time: the filter's window ends when it is made.
                acted = EventFilter(
                    event=EventNameFilter(name=[ACTED]),
                    resource=EventResourceFilter(id=[f"prefect.automation.{automation_id}"]),
                )
                if (await client.read_events(filter=acted, limit=1)).events:
                    report.add(PART, "services act on events", Status.OK,
                               f"a probe automation acted in {now:.1f} s")
                    return
                if now >= seconds:
                    report.add(
                        PART, "services act on events", Status.FAIL,
                        f"no automation acted on a probe event in {seconds:.0f} s: a run whose "
                        "worker dies would stay Running",
                        "run Prefect's services with `arize-runbooks prefect-services` (it "
                        "restarts a service that dies) and read its log; a single "
                        "`prefect server start`: restart it")
                    return
                await asyncio.sleep(0.5)
    finally:
        await client.delete_automation(automation_id)
