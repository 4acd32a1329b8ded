"""restrict-project end to end: real emulator over HTTP, real Prefect (test harness)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from arize_admin import AsyncArizeAdmin, ResourceRestrictionType, RoleBindingResourceType
from core.planning.plan import Action, SpecError
from flows.restrict_project.flow import restrict_project
from flows.restrict_project.plan import plan_restrict_project
from flows.restrict_project.spec import RestrictProjectSpec
from tasks.reporting.report import RunStatus
from tests.fixtures.runbooks import (
    admin_client,
    clear_faults,
    emulator_state,
    example,
    mutation_count,
    run_with_answer,
    set_faults,
)

pytestmark = pytest.mark.slow

FLOW = "restrict-project"
DANA, SAM, LEE = "dana@acme.example", "sam@acme.example", "lee.leaver@acme.example"


def example_spec(**changes) -> RestrictProjectSpec:
    return example(RestrictProjectSpec, "restrict-project", **changes)


admin = admin_client


async def project_access(arize) -> tuple[dict[str, str], bool]:
    """fraud-model's PROJECT bindings as {email: role name}, and whether it is restricted."""
    async with admin(arize) as client:
        space = await client.spaces.find_by_name("fraud-detection")
        project = await client.projects.find_by_name("fraud-model", space_id=space.id)
        emails = {u.id: u.email async for u in client.users.list()}
        roles = {r.id: r.name async for r in client.roles.list()}
        bindings = [
            b
            async for b in client.role_bindings.list(resource_type=RoleBindingResourceType.PROJECT)
            if b.resource_id == project.id
        ]
        restricted = project.id in {
            r.resource_id
            async for r in client.resource_restrictions.list(
                resource_type=ResourceRestrictionType.PROJECT
            )
        }
    by_email = {emails[b.user_id]: roles[b.role_id] for b in bindings}
    assert len(by_email) == len(bindings), "one binding per user and project"
    return by_email, restricted


async def plan_with(runbook_policy, spec):
    """The planner on its own, on a client from the runbook's credentials."""
    async with runbook_policy.credentials.get_client() as client:
        return await plan_restrict_project(client, spec)


SEED_ACCESS = ({LEE: "Project Viewer"}, False)
RESTRICTED_ACCESS = ({DANA: "Project Viewer", SAM: "Project Viewer"}, True)


async def test_plan_orders_bind_then_restrict_then_unbind(arize, runbook_policy):
    plan = await plan_with(runbook_policy, example_spec())

    assert [(c.stage, c.action, c.destructive) for c in plan.changes] == [
        (0, Action.BIND_ROLE, False),
        (0, Action.BIND_ROLE, False),
        (1, Action.RESTRICT_PROJECT, True),
        (2, Action.UNBIND_ROLE, True),
    ]
    assert plan.changes[-1].target == f"{LEE} on fraud-model"


async def test_first_run_applies_and_second_run_changes_nothing(arize, runbook_policy):
    assert await project_access(arize) == SEED_ACCESS

    first = await run_with_answer(restrict_project(spec=example_spec()), FLOW, approved=True)

    assert first.status is RunStatus.COMPLETED
    assert first.approver == "approver@acme.example"
    assert first.planned == first.applied == 4
    assert await project_access(arize) == RESTRICTED_ACCESS
    # The restriction works: Dana reads the project through her binding, Lee no longer can.
    async with (
        AsyncArizeAdmin(api_key=arize.key_for_email(DANA), base_url=arize.base_url) as dana,
        AsyncArizeAdmin(api_key=arize.key_for_email(LEE), base_url=arize.base_url) as lee,
    ):
        space = await dana.spaces.find_by_name("fraud-detection")
        assert await dana.projects.find_by_name("fraud-model", space_id=space.id) is not None
        assert await lee.projects.find_by_name("fraud-model", space_id=space.id) is None

    before, state = mutation_count(arize), emulator_state(arize)
    second = await restrict_project(spec=example_spec())

    assert second.status is RunStatus.NO_CHANGES
    assert second.planned == 0
    assert mutation_count(arize) == before
    assert emulator_state(arize) == state


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"space": "no-such-space"}, "spec.space"),
        ({"organization": "Globex"}, "spec.organization"),
        ({"project": "no-such-project"}, "spec.project"),
        # A real project id, but of another space.
        ({"project": "@feature-store"}, "spec.project"),
        (
            {
                "allowed": [
                    {"email": DANA, "role": "Project Viewer"},
                    {"email": "nobody@acme.example", "role": "Project Viewer"},
                ]
            },
            "spec.allowed[1].email",
        ),
        ({"allowed": [{"email": DANA, "role": "No Such Role"}]}, "spec.allowed[0].role"),
        ({"allowed": [{"email": DANA, "role": "ADMIN"}]}, "spec.allowed[0].role"),
    ],
)
async def test_unknown_names_fail_in_plan_naming_the_field(arize, runbook_policy, changes, field):
    if changes.get("project") == "@feature-store":
        async with admin(arize) as client:
            space = await client.spaces.find_by_name("ml-platform")
            other = await client.projects.find_by_name("feature-store", space_id=space.id)
        changes = {"project": other.id}
    before, state = mutation_count(arize), emulator_state(arize)

    with pytest.raises(SpecError) as caught:
        await restrict_project(spec=example_spec(**changes))

    assert str(caught.value).startswith(field)
    assert mutation_count(arize) == before
    assert emulator_state(arize) == state


async def test_project_by_id_and_organization(arize, runbook_policy):
    async with admin(arize) as client:
        space = await client.spaces.find_by_name("fraud-detection")
        project = await client.projects.find_by_name("fraud-model", space_id=space.id)

    plan = await plan_with(runbook_policy, example_spec(project=project.id, organization="Acme")
    )

    assert plan.subject == "fraud-detection/fraud-model"
    assert len(plan.changes) == 4


async def test_space_name_in_two_organizations_needs_the_organization(arize, runbook_policy):
    async with admin(arize) as client:
        globex = await client.organizations.create(name="Globex")
        await client.spaces.create(name="fraud-detection", organization_id=globex.id)
    before = mutation_count(arize)

    with pytest.raises(SpecError, match="set organization") as caught:
        await restrict_project(spec=example_spec())
    assert caught.value.field == "space"
    assert mutation_count(arize) == before

    plan = await plan_with(runbook_policy, example_spec(organization="Acme")
    )
    assert len(plan.changes) == 4
    with pytest.raises(SpecError) as caught:
        await plan_with(runbook_policy, example_spec(organization="Globex")
        )
    assert caught.value.field == "project"  # Globex's fraud-detection has no fraud-model


async def test_rebind_to_a_narrower_role_is_destructive(arize, runbook_policy):
    # Lee is allowed too, but with a narrower role than the one he holds.
    async with admin(arize) as client:
        await client.roles.create(name="Span Reader", permissions=["PROJECT_READ"])
    spec = example_spec(allowed=[{"email": LEE, "role": "Span Reader"}])

    plan = await plan_with(runbook_policy, spec)

    rebind = next(c for c in plan.changes if c.action is Action.REBIND_ROLE)
    assert rebind.destructive and rebind.stage == 0
    assert "narrows access" in rebind.reason
    outcome = await run_with_answer(restrict_project(spec=spec), FLOW, approved=True)
    assert outcome.status is RunStatus.COMPLETED
    assert await project_access(arize) == ({LEE: "Span Reader"}, True)


async def _probe(
    base_url: str, key: str, project_id: str, statuses: list[int], stop: asyncio.Event
) -> None:
    """GET the project as one user, over and over, until told to stop."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, trust_env=False) as http:
        while not stop.is_set():
            response = await http.get(f"/v2/projects/{project_id}")
            statuses.append(response.status_code)


async def test_allowed_user_never_loses_access_while_the_run_applies(arize, runbook_policy):
    async with admin(arize) as client:
        space = await client.spaces.find_by_name("fraud-detection")
        project = await client.projects.find_by_name("fraud-model", space_id=space.id)
    dana_key, lee_key = arize.key_for_email(DANA), arize.key_for_email(LEE)
    # Slow every API call down so the moments between steps are wide enough to fall into.
    set_faults(arize, latency_ms=40)
    stop = asyncio.Event()
    dana_saw: list[int] = []
    lee_saw: list[int] = []
    probes = [
        asyncio.create_task(_probe(arize.base_url, dana_key, project.id, dana_saw, stop)),
        asyncio.create_task(_probe(arize.base_url, lee_key, project.id, lee_saw, stop)),
    ]
    try:
        outcome = await run_with_answer(restrict_project(spec=example_spec()), FLOW, approved=True)
    finally:
        stop.set()
        await asyncio.gather(*probes)
        clear_faults(arize)

    assert outcome.status is RunStatus.COMPLETED
    # Dana (allowed; before the run she read the project through her space membership)
    # never got a 403 or 404, not even between the restriction and her binding.
    assert dana_saw and set(dana_saw) == {200}
    # The control: the same probe does see access change. Lee (not allowed) read the project
    # at first and lost it in the last stage, after the restriction.
    assert lee_saw[0] == 200 and lee_saw[-1] == 404
    first_denied = lee_saw.index(404)
    assert set(lee_saw[:first_denied]) == {200} and set(lee_saw[first_denied:]) == {404}
