"""`doctor --ha`: is crash recovery switched on, and can it see the runs it watches?

Three things must hold for a run whose worker dies to be crashed and rescheduled: both
automations exist and are enabled (and the heartbeat one counts silence from a run's start,
not only from its first heartbeat), the runbook deployments make their flow runs heartbeat at
the interval the automation expects, and the flow runs the workers start really do heartbeat.
"""

from __future__ import annotations

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


async def check_ha(report: Report, client: PrefectClient | None = None) -> None:
    """Add the crash-recovery checks to ``report``; never raises for a broken part."""
    if client is None:
        async with get_client() as own:
            await check_ha(report, own)
        return
    from cli.doctor import Status

    try:
        within = await _check_automations(report, client)
        await _check_deployment_heartbeat(report, client, within)
        await _check_runs_heartbeat(report, client)
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
