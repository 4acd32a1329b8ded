"""Large stages apply in batch tasks: few task runs, a table row per change, and transient
failures handed to each change's own step task (Prefect's retries), converging with no duplicate.
"""

from __future__ import annotations

import json

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
)

from flows.onboard_team.flow import onboard_team
from flows.onboard_team.spec import OnboardTeamSpec
from tasks.reporting.report import RunStatus
from tasks.steps.apply import BATCH_ABOVE
from tests.fixtures.runbooks import admin_client, clear_faults, example, set_faults

pytestmark = pytest.mark.slow

MEMBERS = BATCH_ABOVE + 16


def big_team() -> OnboardTeamSpec:
    members = [
        {"name": f"Member {i}", "email": f"member{i}@acme.example", "space_role": "MEMBER"}
        for i in range(MEMBERS)
    ]
    return example(OnboardTeamSpec, "onboard-team", roles=[], members=members)


async def task_runs_of(flow_run_id) -> list[str]:
    async with get_client() as client:
        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])), limit=200
        )
    return [run.name for run in runs]


async def team_users(arize) -> list[str]:
    async with admin_client(arize) as client:
        users = [u async for u in client.users.list()]
    return sorted(u.email for u in users if u.email.startswith("member"))


async def test_a_large_stage_runs_in_batches_with_a_row_per_change(arize, runbook_policy):
    state = await onboard_team(spec=big_team(), return_state=True)
    outcome = await state.result()

    assert outcome.status is RunStatus.COMPLETED
    assert await team_users(arize) == sorted(f"member{i}@acme.example" for i in range(MEMBERS))
    names = await task_runs_of(state.state_details.flow_run_id)
    batches = [n for n in names if n.startswith("apply stage")]
    # Invitations, org roles and space roles: one batch task for each large stage.
    assert len(batches) == 3, names
    assert not [n for n in names if n.startswith("ensure user")], "no task run per invitation"
    run_only = ArtifactFilter(
        flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])
    )
    async with get_client() as client:
        artifacts = await client.read_artifacts(artifact_filter=run_only)
    rows = [
        row
        for a in artifacts
        if a.type == "table"
        for row in (json.loads(a.data) if isinstance(a.data, str) else a.data)
    ]
    invited = [r for r in rows if "member" in r["change"] and r["outcome"] == "applied"]
    assert len(invited) >= MEMBERS, "every invitation is a row of a batch's table"


async def test_transient_failures_in_a_batch_fall_back_to_the_step_and_converge(
    arize, runbook_policy
):
    # One POST in five answers 5xx or is applied with its response lost.
    set_faults(arize, error_rate=0.1, lost_response_rate=0.1, methods=["POST"], seed=7)
    try:
        state = await onboard_team(spec=big_team(), return_state=True)
    finally:
        clear_faults(arize)
    outcome = await state.result()

    assert outcome.status is RunStatus.COMPLETED
    users = await team_users(arize)
    assert users == sorted(f"member{i}@acme.example" for i in range(MEMBERS)), "no duplicates"
    names = await task_runs_of(state.state_details.flow_run_id)
    assert [n for n in names if n.startswith("ensure user")], (
        "a transiently failed invitation went to its own step task, with Prefect's retries"
    )
    rerun = await onboard_team(spec=big_team())
    assert rerun.status is RunStatus.NO_CHANGES
