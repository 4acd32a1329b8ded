"""saml-role-mapping end to end: real emulator over HTTP, real Prefect (test harness)."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from prefect import get_client
from prefect.blocks.system import Secret
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from arize_admin import CustomRole
from core.planning.plan import Action, SpecError
from flows.saml_role_mapping.flow import saml_role_mapping
from flows.saml_role_mapping.mapping import ARTIFACT_KEY, load_last_mapping
from flows.saml_role_mapping.plan import plan_saml_role_mapping
from flows.saml_role_mapping.spec import SamlRoleMappingSpec
from tasks.reporting.report import RunStatus
from tests.fixtures.runbooks import (
    EXAMPLES,
    admin_client,
    emulator_state,
    example,
    mutation_count,
    run_with_answer,
)

pytestmark = pytest.mark.slow

FLOW = "saml-role-mapping"
VIEWERS, EDITORS, AUDITORS = "arize-project-viewers", "arize-space-editors", "arize-fraud-auditors"


# The custom roles only: the SAML rules of the example are tests/saml's.
ROLES_ONLY = {"identity_provider": None, "rules": []}


def example_spec(**changes) -> SamlRoleMappingSpec:
    return example(
        SamlRoleMappingSpec, "saml-role-mapping", **{"output_dir": None, **ROLES_ONLY, **changes}
    )


def narrowing_spec(output_dir: Path | None = None) -> SamlRoleMappingSpec:
    """The example, but "Project Viewer" loses CUSTOM_METRIC_READ: a destructive update."""
    data = yaml.safe_load((EXAMPLES / "saml-role-mapping.yaml").read_text())
    viewer = data["mappings"][0]["role"]
    viewer["permissions"] = [p for p in viewer["permissions"] if p != "CUSTOM_METRIC_READ"]
    data["output_dir"] = str(output_dir) if output_dir else None
    return SamlRoleMappingSpec.model_validate({**data, **ROLES_ONLY})


admin = admin_client


@pytest.fixture
async def variable(prefect_harness) -> AsyncIterator[str]:
    """A mapping store of this test's own, so runs of other tests are not "the last run"."""
    name = f"saml-test-{uuid.uuid4().hex[:8]}"
    yield name
    with contextlib.suppress(ValueError):
        await Secret.adelete(name)


async def remembered(store: str) -> dict[str, str]:
    """The mapping the last run remembered in ``store`` (empty: none)."""
    return await load_last_mapping.fn(store)


async def custom_roles(arize) -> dict[str, tuple[str, list[str], str | None]]:
    """Custom roles as {name: (id, sorted permissions, description)}; names must be unique."""
    async with admin(arize) as client:
        roles = [r async for r in client.roles.list(is_predefined=False)]
    by_name = {r.name: (r.id, sorted(p.value for p in r.permissions), r.description) for r in roles}
    assert len(by_name) == len(roles), "no duplicate roles"
    return by_name


def wanted(spec: SamlRoleMappingSpec) -> dict[str, list[str]]:
    return {m.role.name: sorted(p.value for p in m.role.permissions) for m in spec.mappings}


async def mapping_artifact(flow_run_id) -> list[dict]:
    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    (table,) = [a for a in artifacts if a.key == ARTIFACT_KEY]
    data = table.data
    return json.loads(data) if isinstance(data, str) else data


async def run_flow(spec, variable, *, approved: bool | None = None, **kwargs):
    """Run the flow (answering its gate if ``approved`` is given); return (state, outcome)."""
    call = saml_role_mapping(spec=spec, mapping_store=variable, return_state=True, **kwargs)
    if approved is None:
        state = await call
    else:
        state = await run_with_answer(call, FLOW, approved=approved)
    return state, await state.result()


async def test_first_run_applies_publishes_and_second_run_changes_nothing(
    arize, runbook_policy, variable, tmp_path
):
    spec = narrowing_spec(tmp_path / "idp")

    state, first = await run_flow(spec, variable, approved=True)

    assert first.status is RunStatus.COMPLETED
    assert first.approver == "approver@acme.example"
    assert first.planned == first.applied == 2  # update Project Viewer, create Fraud Auditor
    roles = await custom_roles(arize)
    for name, permissions in wanted(spec).items():
        assert roles[name][1] == permissions
    assert roles["Fraud Auditor"][2] == "Reads projects and their spans, annotates them."
    ids = {m.group: roles[m.role.name][0] for m in spec.mappings}

    # Published three ways: a table artifact, JSON and YAML files, and the mapping store.
    rows = await mapping_artifact(state.state_details.flow_run_id)
    assert [(r["group"], r["role_id"], r["since last run"]) for r in rows] == [
        (group, role_id, "new") for group, role_id in ids.items()
    ]
    for name, load in (
        ("group-role-mapping.json", json.loads),
        ("group-role-mapping.yaml", yaml.safe_load),
    ):
        document = load((tmp_path / "idp" / name).read_text())
        assert {m["group"]: m["role_id"] for m in document["mappings"]} == ids
    assert await remembered(variable) == ids

    before, snapshot = mutation_count(arize), emulator_state(arize)
    state, second = await run_flow(spec, variable)

    assert second.status is RunStatus.NO_CHANGES
    assert second.planned == 0
    assert mutation_count(arize) == before
    assert emulator_state(arize) == snapshot
    assert not [n for n in second.notes if "update the IdP" in n]
    rows = await mapping_artifact(state.state_details.flow_run_id)
    assert {r["since last run"] for r in rows} == {"unchanged"}


async def test_dry_run_changes_and_publishes_nothing(arize, runbook_policy, variable, tmp_path):
    before, snapshot = mutation_count(arize), emulator_state(arize)

    _, outcome = await run_flow(narrowing_spec(tmp_path), variable, dry_run=True)

    assert outcome.status is RunStatus.DRY_RUN
    assert outcome.planned == 2 and outcome.applied == 0
    assert mutation_count(arize) == before
    assert emulator_state(arize) == snapshot
    assert await remembered(variable) == {}
    assert list(tmp_path.iterdir()) == []


async def test_rejected_approval_changes_nothing(arize, runbook_policy, variable, tmp_path):
    before, snapshot = mutation_count(arize), emulator_state(arize)

    _, outcome = await run_flow(narrowing_spec(tmp_path), variable, approved=False)

    assert outcome.status is RunStatus.REJECTED
    assert outcome.applied == 0
    assert mutation_count(arize) == before
    assert emulator_state(arize) == snapshot
    assert await remembered(variable) == {}
    assert list(tmp_path.iterdir()) == []


async def test_permission_additions_alone_need_no_approval(arize, runbook_policy, variable):
    # The example only creates "Fraud Auditor" and keeps the seeded roles as they are.
    _, outcome = await run_flow(example_spec(), variable)

    assert outcome.status is RunStatus.COMPLETED
    assert outcome.approver is None
    assert (await custom_roles(arize))["Fraud Auditor"][1] == wanted(example_spec())[
        "Fraud Auditor"
    ]


async def _spec_naming_predefined_role(arize) -> dict:
    async with admin(arize) as client:
        predefined = [r async for r in client.roles.list(is_predefined=True)]
    return {
        "mappings": [
            {"group": "g", "role": {"name": predefined[0].name, "permissions": ["PROJECT_READ"]}}
        ]
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ("predefined", "spec.mappings[0].role.name"),
        (
            {
                "mappings": [
                    {"group": "g", "role": {"name": "Bad <Name>", "permissions": ["PROJECT_READ"]}}
                ]
            },
            "spec.mappings[0].role.name",
        ),
        # Pruning would delete "Project Viewer", which Lee's binding on fraud-model still uses.
        (
            {
                "mappings": [
                    {"group": "g", "role": {"name": "Space Editor", "permissions": ["SPACE_READ"]}}
                ],
                "prune": True,
            },
            "spec.prune",
        ),
    ],
)
async def test_bad_specs_fail_in_plan_naming_the_field(
    arize, runbook_policy, variable, changes, field
):
    if changes == "predefined":
        changes = await _spec_naming_predefined_role(arize)
    before, snapshot = mutation_count(arize), emulator_state(arize)

    with pytest.raises(SpecError) as caught:
        await saml_role_mapping(spec=example_spec(**changes), mapping_store=variable)

    assert str(caught.value).startswith(field)
    if field == "spec.prune":
        assert "Project Viewer (1 binding(s))" in str(caught.value)
    assert mutation_count(arize) == before
    assert emulator_state(arize) == snapshot


def test_unknown_permission_is_refused_by_validation():
    with pytest.raises(ValueError, match=r"mappings\.0\.role\.permissions\.0"):
        example_spec(mappings=[{"group": "g", "role": {"name": "R", "permissions": ["NOPE"]}}])


async def test_prune_deletes_unmapped_unbound_roles_after_approval(arize, runbook_policy, variable):
    # Only "Project Viewer" is mapped; "Space Editor" has no bindings, so it may go.
    spec = example_spec(mappings=[example_spec().mappings[0].model_dump()], prune=True)
    async with runbook_policy.credentials.get_client() as client:
        plan = await plan_saml_role_mapping(client, spec)
    assert [(c.action, c.target, c.destructive, c.stage) for c in plan.changes] == [
        (Action.DELETE_ROLE, "Space Editor", True, 1)
    ]

    _, outcome = await run_flow(spec, variable, approved=True)

    assert outcome.status is RunStatus.COMPLETED
    assert set(await custom_roles(arize)) == {"Project Viewer"}


async def test_prune_refuses_a_role_held_as_a_space_membership(arize, runbook_policy, variable):
    # Dana's membership of fraud-detection becomes "Space Editor": a SPACE binding of the role.
    async with admin(arize) as client:
        space = await client.spaces.find_by_name("fraud-detection")
        dana = await client.users.find_by_email("dana@acme.example")
        editor = await client.roles.find_by_name("Space Editor")
        await client.spaces.add_user(space.id, user_id=dana.id, role=CustomRole(id=editor.id))
    spec = example_spec(mappings=[example_spec().mappings[0].model_dump()], prune=True)
    before = mutation_count(arize)

    with pytest.raises(SpecError, match=r"Space Editor \(1 binding\(s\)\)") as caught:
        await saml_role_mapping(spec=spec, mapping_store=variable)

    assert caught.value.field == "prune"
    assert mutation_count(arize) == before
    assert "Space Editor" in await custom_roles(arize)


async def test_recreated_role_is_flagged_as_changed_since_the_last_run(
    arize, runbook_policy, variable, tmp_path
):
    spec = example_spec(output_dir=str(tmp_path))
    await run_flow(spec, variable)
    old_id = (await custom_roles(arize))["Fraud Auditor"][0]
    # Someone deletes the role by hand; the next run recreates it with a new id.
    async with admin(arize) as client:
        await client.roles.delete(old_id)

    state, outcome = await run_flow(spec, variable)

    new_id = (await custom_roles(arize))["Fraud Auditor"][0]
    assert new_id != old_id
    assert outcome.status is RunStatus.COMPLETED
    flagged = [n for n in outcome.notes if n.startswith(f"group {AUDITORS}:")]
    assert any("will be recreated with a new id" in n for n in flagged)  # from the plan
    assert any(f"id changed {old_id} → {new_id}" in n for n in flagged)  # from the publish
    assert not [n for n in outcome.notes if n.startswith((f"group {VIEWERS}", f"group {EDITORS}"))]
    rows = {r["group"]: r for r in await mapping_artifact(state.state_details.flow_run_id)}
    assert rows[AUDITORS]["role_id"] == new_id
    assert rows[AUDITORS]["since last run"] == f"CHANGED (was {old_id}): update the IdP"
    assert rows[VIEWERS]["since last run"] == "unchanged"
    document = json.loads((tmp_path / "group-role-mapping.json").read_text())
    assert {m["group"]: m["role_id"] for m in document["mappings"]}[AUDITORS] == new_id
    assert (await remembered(variable))[AUDITORS] == new_id

    _, third = await run_flow(spec, variable)
    assert third.status is RunStatus.NO_CHANGES
    assert not [n for n in third.notes if "update the IdP" in n]
