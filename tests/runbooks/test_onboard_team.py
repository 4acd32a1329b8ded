"""onboard-team end to end: real emulator over HTTP, real Prefect (test harness)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from prefect import get_client

from arize_admin import ApiKeyType, AsyncArizeAdmin, RoleBindingResourceType
from cli.approvals import answer_gate
from flows.onboard_team.flow import onboard_team
from flows.onboard_team.plan import spec_role_name
from flows.onboard_team.spec import OnboardTeamSpec
from tasks.approvals.gate import ApprovalTimeout
from tasks.planning.plan import PlanDrift, SpecError
from tasks.reporting.report import RunStatus
from tests.fixtures.runbooks import (
    admin_client,
    clear_faults,
    emulator_state,
    example,
    mutation_count,
    run_with_answer,
    set_faults,
    wait_for_paused_run,
)

pytestmark = pytest.mark.slow



def example_spec(**changes) -> OnboardTeamSpec:
    return example(OnboardTeamSpec, "onboard-team", **changes)


admin = admin_client


async def test_first_run_applies_everything_and_second_run_changes_nothing(
    arize, runbook_policy
):
    spec = example_spec()

    first = await onboard_team(spec=spec)

    assert first.status is RunStatus.COMPLETED
    assert first.applied == first.planned > 0
    async with admin(arize) as client:
        org = await client.organizations.find_by_name("Acme")
        space = await client.spaces.find_by_name("fraud-ops", org_id=org.id)
        assert space is not None
        role = await client.roles.find_by_name("Fraud Analyst")
        assert sorted(role.permissions) == sorted(spec.roles[0].permissions)
        riley = await client.users.find_by_email("riley@acme.example")
        assert riley is not None
        roles_by_id = {r.id: spec_role_name(r) async for r in client.roles.list()}
        bindings = {
            b.user_id: roles_by_id[b.role_id]
            async for b in client.role_bindings.list(resource_type=RoleBindingResourceType.SPACE)
            if b.resource_id == space.id
        }
        dana = await client.users.find_by_email("dana@acme.example")
        assert bindings[dana.id] == "ADMIN"
        assert bindings[riley.id] == "Fraud Analyst"
        keys = [
            k
            async for k in client.api_keys.list(space_id=space.id, key_type=ApiKeyType.SERVICE)
            if k.name == "ci-fraud-ops"
        ]
        assert len(keys) == 1

    stored = await runbook_policy.key_store.read_key("ci-fraud-ops", space="fraud-ops")
    assert stored is not None and stored.api_key_id == keys[0].id
    async with AsyncArizeAdmin(api_key=stored.value, base_url=arize.base_url) as as_key:
        page = await as_key.spaces.list(limit=5)
        assert any(s.id == space.id for s in page.items)

    before = mutation_count(arize)
    state = emulator_state(arize)
    second = await onboard_team(spec=spec)
    assert second.status is RunStatus.NO_CHANGES
    assert second.planned == 0
    assert mutation_count(arize) == before
    assert emulator_state(arize) == state


async def test_dry_run_plans_and_changes_nothing(arize, runbook_policy):
    before = mutation_count(arize)

    outcome = await onboard_team(spec=example_spec(), dry_run=True)

    assert outcome.status is RunStatus.DRY_RUN
    assert outcome.planned > 0 and outcome.applied == 0
    assert mutation_count(arize) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"organization": "No Such Org"}, "spec.organization"),
        (
            {"members": [{"name": "X", "email": "x@acme.example", "space_role": "Wizard"}]},
            "spec.members[0].space_role",
        ),
    ],
)
async def test_unknown_names_fail_in_plan_naming_the_field(arize, runbook_policy, changes, field):
    before = mutation_count(arize)

    with pytest.raises(SpecError) as caught:
        await onboard_team(spec=example_spec(**changes))

    assert str(caught.value).startswith(field)
    assert mutation_count(arize) == before


def test_malformed_spec_is_refused_by_validation():
    with pytest.raises(ValueError, match=r"members\.0\.email"):
        example_spec(members=[{"name": "X", "email": "not-an-email"}])
    with pytest.raises(ValueError, match=r"roles\.0\.permissions\.0"):
        example_spec(roles=[{"name": "R", "permissions": ["PERMISSION_THAT_DOES_NOT_EXIST"]}])


async def narrowable_role(arize) -> None:
    """An existing "Fraud Analyst" with one permission more than the spec: a narrowing."""
    async with admin(arize) as client:
        await client.roles.create(
            name="Fraud Analyst",
            permissions=[*example_spec().roles[0].permissions, "DATASET_READ"],
            description="Reads projects and annotates spans",
        )


async def test_narrowing_a_role_waits_for_approval_and_rejection_changes_nothing(
    arize, runbook_policy
):
    await narrowable_role(arize)
    before = mutation_count(arize)

    outcome = await run_with_answer(
        onboard_team(spec=example_spec()), "onboard-team", approved=False
    )

    assert outcome.status is RunStatus.REJECTED
    assert outcome.applied == 0
    assert mutation_count(arize) == before


async def test_approved_narrowing_applies(arize, runbook_policy):
    await narrowable_role(arize)

    outcome = await run_with_answer(
        onboard_team(spec=example_spec()), "onboard-team", approved=True
    )

    assert outcome.status is RunStatus.COMPLETED
    assert outcome.approver == "approver@acme.example"
    async with admin(arize) as client:
        role = await client.roles.find_by_name("Fraud Analyst")
    assert "DATASET_READ" not in role.permissions


async def test_drift_after_approval_applies_nothing(arize, runbook_policy):
    await narrowable_role(arize)
    since = datetime.now(UTC)

    async def drift_then_approve():
        run = await wait_for_paused_run("onboard-team", since)
        async with admin(arize) as client:
            org = await client.organizations.find_by_name("Acme")
            await client.spaces.create(name="fraud-ops", organization_id=org.id)
        await answer_gate(run.id, approved=True, approver="approver@acme.example")

    answerer = asyncio.create_task(drift_then_approve())
    before = mutation_count(arize)
    with pytest.raises(PlanDrift, match="live state changed"):
        await onboard_team(spec=example_spec())
    await answerer

    # Only the drift itself (one space create) happened; the run applied nothing.
    assert mutation_count(arize) == before + 1
    async with admin(arize) as client:
        assert await client.users.find_by_email("riley@acme.example") is None


async def test_unanswered_gate_times_out_as_rejected(arize, runbook_policy):
    await narrowable_role(arize)
    runbook_policy.approval.timeout_seconds = 10
    await runbook_policy.asave("default", overwrite=True)
    before = mutation_count(arize)

    with pytest.raises(ApprovalTimeout, match="treated as rejected"):
        await onboard_team(spec=example_spec())

    assert mutation_count(arize) == before


async def test_converges_under_faults_without_duplicates(arize, runbook_policy):
    set_faults(
        arize,
        error_rate=0.15,
        error_statuses=[500, 502, 503],
        rate_limit_rate=0.1,
        retry_after_s=0.2,
        lost_response_rate=0.1,
        seed=7,
    )
    try:
        outcome = await onboard_team(spec=example_spec())
    finally:
        clear_faults(arize)

    assert outcome.status is RunStatus.COMPLETED
    assert (await onboard_team(spec=example_spec())).status is RunStatus.NO_CHANGES
    async with admin(arize) as client:
        org = await client.organizations.find_by_name("Acme")
        spaces = [s async for s in client.spaces.list(org_id=org.id) if s.name == "fraud-ops"]
        roles = [r async for r in client.roles.list() if r.name == "Fraud Analyst"]
        users = [u async for u in client.users.list(email="riley@acme.example")]
        keys = [
            k
            async for k in client.api_keys.list(space_id=spaces[0].id, key_type=ApiKeyType.SERVICE)
        ]
    assert len(spaces) == len(roles) == len(users) == len(keys) == 1
    stored = await runbook_policy.key_store.read_key("ci-fraud-ops", space="fraud-ops")
    assert stored.api_key_id == keys[0].id


async def test_no_key_value_in_logs_artifacts_or_results(arize, runbook_policy, caplog):
    caplog.set_level(logging.DEBUG)

    outcome = await onboard_team(spec=example_spec())

    stored = await runbook_policy.key_store.read_key("ci-fraud-ops", space="fraud-ops")
    secret = stored.value.get_secret_value()
    assert secret not in caplog.text
    assert secret not in outcome.model_dump_json()
    assert arize.admin_key not in caplog.text
    async with get_client() as client:
        artifacts = await client.read_artifacts()
    assert artifacts
    assert not any(secret in str(a.data) for a in artifacts)


async def test_steps_share_a_prefect_global_rate_limit(arize, runbook_policy):
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    async with get_client() as client:
        await client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name="arize-api-test", limit=5, slot_decay_per_second=50)
        )
    runbook_policy.rate_limit = "arize-api-test"
    await runbook_policy.asave("default", overwrite=True)

    outcome = await onboard_team(spec=example_spec())

    assert outcome.status is RunStatus.COMPLETED

    runbook_policy.rate_limit = "no-such-limit"
    await runbook_policy.asave("default", overwrite=True)
    with pytest.raises(Exception, match="no-such-limit"):
        await onboard_team(spec=example_spec(space="another-team"))


async def test_report_names_what_triggered_the_run(arize, runbook_policy):
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    from tasks.triggers import Trigger, TriggerSource

    trigger = Trigger(source=TriggerSource.JIRA, event_id="10001", ticket="OPS-7",
                      requested_by="pm@acme.example")

    state = await onboard_team(
        spec=example_spec(), dry_run=True, trigger=trigger, return_state=True
    )

    only_this_run = ArtifactFilter(
        key=ArtifactFilterKey(any_=["report-onboard-team-acme-fraud-ops"]),
        flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]),
    )
    async with get_client() as client:
        (report,) = await client.read_artifacts(artifact_filter=only_this_run)
    assert "trigger: jira, event 10001, ticket OPS-7, requested by pm@acme.example" in report.data
