"""Crash recovery for runbook runs: two automations, and a reading of a run's state history.

A run whose worker or flow process dies stops emitting ``prefect.flow-run.heartbeat`` events
(flows heartbeat every ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` seconds; prefect.yaml sets it for
every deployment run). The first automation marks a run ``Crashed`` when it has been silent
for ``missed_heartbeats`` intervals counted from its last heartbeat, or from the moment it
went ``Pending`` or ``Running`` if no heartbeat followed: a run killed before its first
heartbeat, or whose worker died between submitting and starting it, is caught too. The worker
does the same by itself when only the flow process dies. The second automation puts a crashed
runbook run back to ``Scheduled`` under the same run id, so a surviving worker picks it up and
the run converges: every step is idempotent.

Only runs tagged ``arize`` (every runbook deployment is) are rescheduled, and only while
their run count is at most ``max_attempts``, so a run that crashes every time stops in
``Crashed`` instead of looping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from prefect import get_client
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification

HEARTBEAT_AUTOMATION = "arize-runbooks: crash runs without heartbeats"
RESCHEDULE_AUTOMATION = "arize-runbooks: reschedule crashed runbook runs"
RUNBOOK_TAG = "arize"
RESCHEDULED_STATE_NAME = "Rescheduled"
RESCHEDULED_MESSAGE = "Rescheduled after a crash; the run resumes under the same id."
MISSED_HEARTBEAT_MESSAGE = "No heartbeat: the run's worker or flow process is gone."

# What starts the silence clock of a run: the worker handing it to a flow-run process
# (Pending), the process starting or retrying the flow (Running, Retrying), the gate holding
# it in its process (Paused: the process keeps heartbeating), and each heartbeat.
# Counting from Pending and Running, not only from a first heartbeat, is what catches a run
# whose process died before its first heartbeat reached the server: Prefect emits the first
# one asynchronously after Running, so a kill in that window left no heartbeat to count from
# and such a run stayed Running for ever. Likewise a held run killed after its Paused event
# (which closed the window) and before its next heartbeat stayed Paused. Events are named
# after the state's name.
_SILENCE_STARTS = (
    "prefect.flow-run.Pending",
    "prefect.flow-run.Running",
    "prefect.flow-run.Retrying",
    "prefect.flow-run.Paused",
    "prefect.flow-run.heartbeat",
)

# What ends it: a heartbeat, the flow starting, a final state, or a state in which the run
# has no process on purpose (Paused at a gate keeps heartbeating; Suspended exits; the
# Scheduled family waits for a worker).
_SILENCE_ENDS = (
    "prefect.flow-run.heartbeat",
    "prefect.flow-run.Running",
    "prefect.flow-run.Retrying",
    "prefect.flow-run.Completed",
    "prefect.flow-run.Failed",
    "prefect.flow-run.TimedOut",
    "prefect.flow-run.Cancelled",
    "prefect.flow-run.Cancelling",
    "prefect.flow-run.Crashed",
    "prefect.flow-run.Suspended",
    "prefect.flow-run.Paused",
    "prefect.flow-run.Scheduled",
    "prefect.flow-run.Late",
    "prefect.flow-run.AwaitingRetry",
    "prefect.flow-run.AwaitingConcurrencySlot",
    "prefect.flow-run.Resuming",
    "prefect.flow-run.Rescheduled",
)


def crash_recovery_automations(
    heartbeat_frequency: int = 30,
    missed_heartbeats: int = 3,
    max_attempts: int = 3,
    tag: str = RUNBOOK_TAG,
) -> list[AutomationCore]:
    """The two automations, as Prefect objects (nothing is sent).

    Args:
        heartbeat_frequency: ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` of the workers (>= 30).
        missed_heartbeats: How many heartbeat intervals of silence mean the run is dead; keep
            it at 2 or more so a slow event pipeline never crashes a live run.
        max_attempts: A run is rescheduled only while its run count is at most this.
        tag: Only flow runs with this tag are watched and rescheduled.

    Raises:
        ValueError: on a frequency under 30 s, fewer than 2 missed heartbeats or no attempt.
    """
    if heartbeat_frequency < 30:
        raise ValueError(
            f"heartbeat_frequency={heartbeat_frequency}: Prefect heartbeats at most every 30 s; "
            "set PREFECT_FLOWS_HEARTBEAT_FREQUENCY to 30 or more"
        )
    if missed_heartbeats < 2:
        raise ValueError(
            f"missed_heartbeats={missed_heartbeats}: one late heartbeat would crash a live run; "
            "use 2 or more"
        )
    if max_attempts < 1:
        raise ValueError(f"max_attempts={max_attempts}: must be 1 or more")
    tagged = ResourceSpecification(
        {"prefect.resource.id": f"prefect.tag.{tag}", "prefect.resource.role": "tag"}
    )
    silence = EventTrigger(
        after=set(_SILENCE_STARTS),
        expect=set(_SILENCE_ENDS),
        match=ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
        match_related=tagged,
        for_each={"prefect.resource.id"},
        posture=Posture.Proactive,
        threshold=1,
        within=timedelta(seconds=heartbeat_frequency * missed_heartbeats),
    )
    crashed = EventTrigger(
        expect={"prefect.flow-run.Crashed"},
        match=ResourceSpecification(
            {
                "prefect.resource.id": "prefect.flow-run.*",
                # 0: a run crashed while Pending never ran, so it has not used an attempt.
                "prefect.run-count": [str(n) for n in range(0, max_attempts + 1)],
            }
        ),
        match_related=tagged,
        for_each={"prefect.resource.id"},
        posture=Posture.Reactive,
        threshold=1,
        within=timedelta(0),
    )
    return [
        AutomationCore(
            name=HEARTBEAT_AUTOMATION,
            description=(
                f"Marks a {tag!r} flow run Crashed when, {missed_heartbeats} heartbeat intervals "
                f"({heartbeat_frequency} s each) after it went Pending, Running or last "
                "heartbeated, it has neither heartbeated nor moved on (started, paused, "
                "suspended, rescheduled or ended)."
            ),
            trigger=silence,
            actions=[
                ChangeFlowRunState(state=StateType.CRASHED, message=MISSED_HEARTBEAT_MESSAGE)
            ],
        ),
        AutomationCore(
            name=RESCHEDULE_AUTOMATION,
            description=(
                f"Puts a crashed {tag!r} flow run back to Scheduled (same run id) while its run "
                f"count is at most {max_attempts}; its steps are idempotent."
            ),
            trigger=crashed,
            actions=[
                ChangeFlowRunState(
                    state=StateType.SCHEDULED,
                    name=RESCHEDULED_STATE_NAME,
                    message=RESCHEDULED_MESSAGE,
                )
            ],
        ),
    ]


async def ensure_crash_recovery(
    client: PrefectClient | None = None,
    *,
    heartbeat_frequency: int = 30,
    missed_heartbeats: int = 3,
    max_attempts: int = 3,
    tag: str = RUNBOOK_TAG,
) -> list[UUID]:
    """Create or update both automations on the Prefect API; safe to run any number of times.

    Automations are matched by name: an existing one is updated in place (its id is kept), a
    duplicate of the same name is removed. Returns the automation ids.
    """
    if client is None:
        async with get_client() as own:
            return await ensure_crash_recovery(
                own,
                heartbeat_frequency=heartbeat_frequency,
                missed_heartbeats=missed_heartbeats,
                max_attempts=max_attempts,
                tag=tag,
            )
    ids: list[UUID] = []
    for wanted in crash_recovery_automations(
        heartbeat_frequency, missed_heartbeats, max_attempts, tag
    ):
        existing = await client.read_automations_by_name(wanted.name)
        if not existing:
            ids.append(await client.create_automation(wanted))
            continue
        keep, *duplicates = existing
        await client.update_automation(keep.id, wanted)
        for duplicate in duplicates:
            await client.delete_automation(duplicate.id)
        ids.append(keep.id)
    return ids


async def last_heartbeat(client: PrefectClient, flow_run_id: UUID) -> datetime | None:
    """When the flow run last heartbeated (from the server's events), or None if it never did."""
    from prefect.events.filters import (
        EventFilter,
        EventNameFilter,
        EventOccurredFilter,
        EventResourceFilter,
    )

    page = await client.read_events(
        EventFilter(
            occurred=EventOccurredFilter(since=datetime.now(UTC) - timedelta(days=7)),
            event=EventNameFilter(name=["prefect.flow-run.heartbeat"]),
            resource=EventResourceFilter(id=[f"prefect.flow-run.{flow_run_id}"]),
        ),
        limit=1,
    )
    return max((e.occurred for e in page.events), default=None)
