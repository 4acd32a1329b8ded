"""onboard-team end to end: real emulator over HTTP, real Prefect (test harness)."""

from __future__ import annotations

import pytest
from prefect import get_client

from arize_admin import ApiKeyType, AsyncArizeAdmin, RoleBindingResourceType
from core.planning.plan import SpecError
from flows.onboard_team.flow import onboard_team
from flows.onboard_team.plan import spec_role_name
from flows.onboard_team.spec import OnboardTeamSpec
from tasks.reporting.report import RunStatus
from tests.fixtures.runbooks import (
    admin_client,
    emulator_state,
    example,
    mutation_count,
    run_with_answer,
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

    from tasks.triggers import Trigger

    # Signed as the webhook service signs what it forwards; unsigned, it would be a claim.
    trigger = Trigger(source="jira", event_id="10001", ticket="OPS-7",
                      requested_by="pm@acme.example").signed()

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
