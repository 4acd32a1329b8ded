"""Planners on their own: the task's function against the emulator, no Prefect server.

Each planner reads live state and returns a plan; it must change nothing, give the same hash
for the same state, and name the spec field when a name does not exist.
"""

from __future__ import annotations

from typing import Any

import pytest

from arize_admin import AsyncArizeAdmin
from blocks.key_store import ArizeKeyStore
from core.planning.changes import Action, CreateRole, DeleteUser, RevokeKey
from core.planning.context import PlanContext
from core.planning.plan import Plan, SpecError
from flows.registry import REGISTRY, Runbook, get
from tests.fixtures.runbooks import mutation_count

# The key store is Prefect Secret blocks: planners that read it need the Prefect API.
NEEDS_PREFECT = {"rotate-service-keys", "access-review"}
# Example fields that would make the planner read the key store.
WITHOUT_KEY_STORE = {"onboard-team": {"service_key": None}}


async def plan_of(runbook: Runbook, arize, **changes: Any) -> Plan:
    spec = runbook.example(**{**WITHOUT_KEY_STORE.get(runbook.name, {}), **changes})
    # Without a service key in the spec, onboard-team's planner never reads its key store.
    context = PlanContext(keys=ArizeKeyStore(prefix="planner-test"))
    async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
        plan = await runbook.planner(client, spec, context)
    return getattr(plan, "plan", plan)


@pytest.mark.parametrize(
    "runbook", [r for r in REGISTRY if r.name not in NEEDS_PREFECT], ids=lambda r: r.name
)
async def test_planning_changes_nothing_and_hashes_the_same_twice(arize, runbook):
    before = mutation_count(arize)

    first = await plan_of(runbook, arize)
    second = await plan_of(runbook, arize)

    assert mutation_count(arize) == before
    assert first.hash == second.hash
    assert first.api_calls > 0
    assert {str(c.action) for c in first.destructive} <= runbook.destructive


async def test_onboard_team_creates_what_is_missing_and_destroys_nothing(arize):
    plan = await plan_of(get("onboard-team"), arize)

    actions = [c.action for c in plan.changes]
    assert actions.count(Action.CREATE_SPACE) == 1
    assert [c.name for c in plan.changes if isinstance(c, CreateRole)] == ["Fraud Analyst"]
    invited = sorted(c.email for c in plan.changes if c.action is Action.INVITE_USER)
    assert invited == ["morgan@acme.example", "riley@acme.example"]  # Dana exists: reused
    assert plan.destructive == []
    # Memberships come after the space, roles and invitations they need.
    first_membership = min(c.stage for c in plan.changes if c.action is Action.SET_SPACE_ROLE)
    assert first_membership > max(c.stage for c in plan.changes if c.action is Action.CREATE_SPACE)


async def test_onboard_team_names_the_field_of_an_unknown_organization(arize):
    with pytest.raises(SpecError) as caught:
        await plan_of(get("onboard-team"), arize, organization="Globex")
    assert caught.value.field == "organization"
    assert "Acme" in caught.value.fix  # the message lists what exists


async def test_saml_role_mapping_creates_only_the_missing_role(arize):
    plan = await plan_of(get("saml-role-mapping"), arize)

    # The demo account has no SAML configuration yet: the example creates it with its rules.
    assert [(c.action, c.target) for c in plan.changes] == [
        (Action.CREATE_ROLE, "Fraud Auditor"),
        (Action.CREATE_SAML_IDP, "Acme Okta"),
    ]
    assert len(plan.in_place) == 2


async def test_restrict_project_binds_before_it_restricts_before_it_unbinds(arize):
    plan = await plan_of(get("restrict-project"), arize)

    order = [(c.stage, c.action) for c in plan.changes]
    assert order == sorted(order)
    assert [a for _, a in order][-2:] == [Action.RESTRICT_PROJECT, Action.UNBIND_ROLE]
    assert all(c.destructive for c in plan.changes if c.action is not Action.BIND_ROLE)


async def test_offboard_user_revokes_keys_before_deleting_the_user(arize):
    plan = await plan_of(get("offboard-user"), arize)

    revoke, delete = plan.changes
    assert isinstance(revoke, RevokeKey) and revoke.key_type == "USER"
    assert isinstance(delete, DeleteUser) and delete.email == "lee.leaver@acme.example"
    assert revoke.stage < delete.stage
    assert revoke.destructive and delete.destructive


async def test_offboarding_someone_unknown_plans_nothing(arize):
    plan = await plan_of(get("offboard-user"), arize, email="nobody@acme.example")

    assert plan.changes == []
    assert any("nobody@acme.example" in note for note in plan.notes)
