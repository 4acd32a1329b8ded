"""A run's crash history, read from its Prefect state history.

The crash-recovery automations (``ops/crash_recovery.py``) put a crashed runbook run back to
``Scheduled`` under the same id; this reads that back, for the run's report and for checks
that a run was resumed rather than started anew.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from prefect import get_client
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import State, StateType


@dataclass(frozen=True)
class CrashResumption:
    """One crash of a run and the rescheduling that followed it."""

    crashed_at: datetime
    crash_message: str
    rescheduled_at: datetime


def crash_resumptions(states: Sequence[State]) -> list[CrashResumption]:
    """Each time the run crashed and was then put back to Scheduled, oldest first."""
    ordered = sorted(states, key=lambda s: s.timestamp)
    found: list[CrashResumption] = []
    crash: State | None = None
    for state in ordered:
        if state.type is StateType.CRASHED:
            crash = state
        elif state.type is StateType.SCHEDULED and crash is not None:
            found.append(
                CrashResumption(
                    crashed_at=crash.timestamp,
                    crash_message=crash.message or "",
                    rescheduled_at=state.timestamp,
                )
            )
            crash = None
    return found


async def was_rescheduled_after_crash(
    flow_run_id: UUID | str, client: PrefectClient | None = None
) -> bool:
    """Whether this flow run crashed and was resumed under the same id (reads its states)."""
    if client is None:
        async with get_client() as own:
            return await was_rescheduled_after_crash(flow_run_id, own)
    run_id = flow_run_id if isinstance(flow_run_id, UUID) else UUID(str(flow_run_id))
    return bool(crash_resumptions(await client.read_flow_run_states(run_id)))
