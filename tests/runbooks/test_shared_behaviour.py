"""What every runbook does the same way, said once, for every runbook of the registry.

Real emulator over HTTP, real Prefect (test harness). Each runbook runs its own example from
examples/; tests/runbooks/scenarios.py makes it destructive where the demo account alone does
not. Runbook-specific behaviour lives in tests/runbooks/test_<runbook>.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from prefect import flow, get_client
from prefect.blocks.system import Secret
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from cli.approvals import answer_gate
from core.planning.context import PlanContext
from core.planning.plan import PlanDrift
from flows.registry import REGISTRY, Runbook
from tasks.approvals.gate import ApprovalTimeout
from tasks.reporting.report import RunStatus
from tasks.steps.apply import STEPS
from tasks.steps.step import StepContext
from tests.fixtures.runbooks import (
    admin_client,
    clear_faults,
    emulator_state,
    mutation_count,
    run_with_answer,
    set_faults,
    wait_for_paused_run,
)
from tests.runbooks.scenarios import NOT_SHARED, SCENARIOS, Scenario

pytestmark = pytest.mark.slow

SHARED = [r for r in REGISTRY if r.name not in NOT_SHARED]
GATED = [r for r in SHARED if r.destructive]


def by_name(runbook: Runbook) -> str:
    return runbook.name


def test_every_runbook_is_covered_or_says_why_not():
    assert set(NOT_SHARED) <= {r.name for r in REGISTRY}
    assert set(SCENARIOS) <= {r.name for r in GATED}


async def _plan(runbook: Runbook, policy, spec):
    """The runbook's plan right now, through its planner outside any flow."""
    async with policy.credentials.get_client() as client:
        plan = await runbook.planner(client, spec, PlanContext(keys=policy.key_store))
    return getattr(plan, "plan", plan)


async def _gated_example(runbook: Runbook, arize, policy):
    """The example, after the scenario made it destructive on the demo account."""
    scenario = SCENARIOS.get(runbook.name, Scenario())
    async with admin_client(arize) as client:
        await scenario.prepare(client)
    spec = runbook.example(**scenario.spec)
    plan = await _plan(runbook, policy, spec)
    assert plan.destructive, f"{runbook.name}: the scenario must plan a destructive change"
    assert {str(c.action) for c in plan.destructive} <= runbook.destructive
    return spec, plan


@flow(name="by hand")
async def by_hand(policy, change) -> None:
    """Apply one change through its step, as an admin would by hand, outside the runbook."""
    ctx = StepContext(credentials=policy.credentials, key_store=policy.key_store)
    await STEPS[str(change.action)](ctx, change)


@pytest.mark.parametrize("runbook", SHARED, ids=by_name)
async def test_dry_run_plans_and_changes_nothing(arize, runbook_policy, runbook):
    before, state = mutation_count(arize), emulator_state(arize)

    outcome = await runbook.flow(spec=runbook.example(), dry_run=True)

    assert outcome.status is RunStatus.DRY_RUN
    assert outcome.applied == 0
    assert outcome.planned == len((await _plan(runbook, runbook_policy, runbook.example())).changes)
    assert mutation_count(arize) == before
    assert emulator_state(arize) == state


@pytest.mark.parametrize("runbook", SHARED, ids=by_name)
async def test_converges_under_faults_then_reruns_as_a_no_op_and_leaks_no_secret(
    arize, runbook_policy, runbook, debug_logs
):
    # 5xx and 429s on a fixed seed: the client and the task retries absorb them.
    set_faults(arize, error_rate=0.15, error_statuses=[500, 502, 503], rate_limit_rate=0.05,
               retry_after_s=0.05, seed=12)
    try:
        state = await run_with_answer(
            runbook.flow(spec=runbook.example(), return_state=True), runbook.name, approved=True
        )
    finally:
        clear_faults(arize)
    first = await state.aresult()
    assert first.status in (RunStatus.COMPLETED, RunStatus.NO_CHANGES)
    before, live = mutation_count(arize), emulator_state(arize)

    second = await runbook.flow(spec=runbook.example())

    assert second.status is RunStatus.NO_CHANGES
    assert second.planned == 0
    assert mutation_count(arize) == before
    assert emulator_state(arize) == live

    secrets = [arize.admin_key]
    async with get_client() as client:
        documents = await client.read_block_documents(include_secrets=True)
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
    prefix = runbook_policy.key_store.prefix
    for document in documents:
        if (document.name or "").startswith(prefix) and "value" in document.data:
            value = Secret.model_validate(document.data).get()
            secrets.append(value["value"] if isinstance(value, dict) else str(value))
    texts = [debug_logs.text, first.model_dump_json(), repr(first), second.model_dump_json()]
    texts += [str(a.data) for a in artifacts]
    assert artifacts  # the run published its plan and report
    for secret in secrets:
        assert not any(secret in text for text in texts)


@pytest.mark.parametrize("runbook", GATED, ids=by_name)
async def test_rejected_plan_changes_nothing(arize, runbook_policy, runbook):
    spec, _ = await _gated_example(runbook, arize, runbook_policy)
    before, state = mutation_count(arize), emulator_state(arize)

    outcome = await run_with_answer(runbook.flow(spec=spec), runbook.name, approved=False)

    assert outcome.status is RunStatus.REJECTED
    assert outcome.applied == 0
    assert mutation_count(arize) == before
    assert emulator_state(arize) == state


@pytest.mark.parametrize("runbook", GATED, ids=by_name)
async def test_unanswered_gate_times_out_and_changes_nothing(
    arize, runbook_policy, runbook, gate_expires_at_once
):
    spec, _ = await _gated_example(runbook, arize, runbook_policy)
    before, state = mutation_count(arize), emulator_state(arize)

    with pytest.raises(ApprovalTimeout):
        await runbook.flow(spec=spec)

    assert gate_expires_at_once.readings > 1, "the gate asked, then found its request expired"

    assert mutation_count(arize) == before
    assert emulator_state(arize) == state


@pytest.mark.parametrize("runbook", GATED, ids=by_name)
async def test_drift_after_approval_applies_nothing(arize, runbook_policy, runbook):
    spec, plan = await _gated_example(runbook, arize, runbook_policy)
    someone = plan.destructive[0]
    since = datetime.now(UTC)
    drifted: dict = {}

    async def drift_then_approve() -> None:
        run = await wait_for_paused_run(runbook.name, since)
        # Someone makes one of the planned changes by hand while the plan waits.
        await by_hand(runbook_policy, someone)
        drifted["mutations"], drifted["state"] = mutation_count(arize), emulator_state(arize)
        await answer_gate(run.id, approved=True, approver="approver@acme.example")

    answerer = asyncio.create_task(drift_then_approve())
    with pytest.raises(PlanDrift, match="live state changed"):
        await runbook.flow(spec=spec)
    await answerer

    assert mutation_count(arize) == drifted["mutations"]
    assert emulator_state(arize) == drifted["state"]
