"""saml-role-mapping writing the SAML rules into Arize, end to end: the emulator over HTTP and
real Prefect (the session harness); gates answered through the CLI's code path."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prefect.blocks.system import Secret

from arize_admin import AsyncArizeAdmin
from arize_admin.types import SamlRoleMapping, SamlRoleMappingRule
from blocks.policy import RunbookPolicy
from blocks.slack import SlackApprovals
from emulator.slack import SlackEmulatorServer
from flows.registry import get
from flows.saml_role_mapping.flow import saml_role_mapping
from flows.saml_role_mapping.mapping import rules_store
from flows.saml_role_mapping.spec import SamlRoleMappingSpec
from tasks.reporting.report import RunStatus
from tests.fixtures.runbooks import (
    EXAMPLES,
    admin_client,
    clear_faults,
    emulator_requests,
    emulator_state,
    mutation_count,
    run_with_answer,
    set_faults,
)
from tests.fixtures.slack import SLACK_BOT_TOKEN

pytestmark = pytest.mark.slow

FLOW = "saml-role-mapping"
IDP = "Acme Okta"
GROUPS = [
    "arize-users",
    "arize-fraud-auditors",
    "arize-project-viewers",
    "arize-space-editors",
    "arize-ml-readers",
]


def example_data() -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / "saml-role-mapping.yaml").read_text())


def example_spec(**changes: Any) -> SamlRoleMappingSpec:
    return SamlRoleMappingSpec.model_validate({**example_data(), "output_dir": None, **changes})


def swapped_spec(**changes: Any) -> SamlRoleMappingSpec:
    """The example with the viewers' rule moved above the auditors' (both on fraud-model)."""
    rules = example_data()["rules"]
    rules[1], rules[2] = rules[2], rules[1]
    return example_spec(rules=rules, **changes)


@pytest.fixture
async def store(prefect_harness) -> AsyncIterator[str]:
    """A mapping store of this test's own."""
    name = f"saml-test-{uuid.uuid4().hex[:8]}"
    yield name
    for block in (name, rules_store(name)):
        with contextlib.suppress(ValueError):
            await Secret.adelete(block)


async def run_flow(spec, store, *, approved: bool | None = None, **kwargs):
    call = saml_role_mapping(spec=spec, mapping_store=store, return_state=True, **kwargs)
    state = await (call if approved is None else run_with_answer(call, FLOW, approved=approved))
    return await state.result()


async def live_rules(arize) -> list[SamlRoleMapping]:
    async with admin_client(arize) as client:
        idp = await client.saml_identity_providers.find_by_name(IDP)
        assert idp is not None
        return [m async for m in client.saml_identity_providers.role_mappings.list(idp.id)]


async def role_id(arize, name: str) -> str:
    async with admin_client(arize) as client:
        role = await client.roles.find_by_name(name)
    assert role is not None
    return role.id


async def login(arize, email: str, *groups: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=arize.base_url, timeout=10) as http:
        response = await http.post(
            "/_emulator/saml/login", json={"email": email, "attributes": {"groups": list(groups)}}
        )
    response.raise_for_status()
    return response.json()


async def test_first_apply_creates_roles_and_rules_in_order_and_a_rerun_changes_nothing(
    arize, runbook_policy, store, tmp_path: Path
):
    first = await run_flow(example_spec(output_dir=str(tmp_path)), store)

    assert first.status is RunStatus.COMPLETED
    assert first.approver is None  # creating roles and adding rules needs no approval
    rules = await live_rules(arize)
    assert [m.attribute_value for m in rules] == GROUPS
    assert rules[1].project_role_id == await role_id(arize, "Fraud Auditor")  # created first
    # The record of what was applied: the rules as Arize holds them, in order.
    document = json.loads((tmp_path / "group-role-mapping.json").read_text())
    record = document["saml_configuration"]
    assert record["name"] == IDP
    assert [(r["position"], r["group"]) for r in record["rules"]] == list(
        enumerate(GROUPS, start=1)
    )
    assert record["rules"][1] == {
        "position": 2,
        "group": "arize-fraud-auditors",
        "project": "fraud-model",
        "project_role": "Fraud Auditor",
    }
    assert yaml.safe_load((tmp_path / "group-role-mapping.yaml").read_text()) == document

    before, snapshot = mutation_count(arize), emulator_state(arize)
    second = await run_flow(example_spec(), store)

    assert second.status is RunStatus.NO_CHANGES
    assert mutation_count(arize) == before
    assert emulator_state(arize) == snapshot


async def test_a_gated_reorder_changes_what_a_login_gives(arize, runbook_policy, store):
    await run_flow(example_spec(), store)
    both = ("arize-users", "arize-fraud-auditors", "arize-project-viewers")
    auditor, viewer = await role_id(arize, "Fraud Auditor"), await role_id(arize, "Project Viewer")
    # A new user's first login applies the rules: the auditors' rule matches first.
    first = await login(arize, "nina@acme.example", *both)
    assert first["created"] and first["account_role"] == "MEMBER"
    (fraud_model,) = first["projects"]
    assert first["projects"] == {fraud_model: auditor}

    rejected = await run_flow(swapped_spec(), store, approved=False)
    assert rejected.status is RunStatus.REJECTED
    assert [m.attribute_value for m in await live_rules(arize)] == GROUPS

    approved = await run_flow(swapped_spec(), store, approved=True)

    assert approved.status is RunStatus.COMPLETED
    assert approved.approver == "approver@acme.example"
    assert any(
        "members of arize-fraud-auditors and arize-project-viewers loses: project "
        "fraud-model: Fraud Auditor → Project Viewer" in note
        for note in approved.notes
    )
    order = [m.attribute_value for m in await live_rules(arize)]
    assert order == [GROUPS[0], GROUPS[2], GROUPS[1], *GROUPS[3:]]
    # The example syncs user roles: at her next login Nina gets the viewers' role instead.
    again = await login(arize, "nina@acme.example", *both)
    assert not again["created"] and again["roles_applied"]
    assert again["projects"] == {fraud_model: viewer}


async def seed_first_rule(arize) -> None:
    """The configuration exists with the example's first rule only (and the admin mapping)."""
    async with admin_client(arize) as client:
        await client.saml_identity_providers.create(
            name=IDP,
            email_domains=["acme.example"],
            metadata_url="https://idp.acme.example/metadata",
            role_mappings=[
                SamlRoleMappingRule(
                    attribute_name="groups", attribute_value="arize-admins", account_role="ADMIN"
                ),
                SamlRoleMappingRule(
                    attribute_name="groups", attribute_value="arize-users", account_role="MEMBER"
                ),
            ],
        )


def injected(arize) -> int:
    return int(httpx.get(f"{arize.base_url}/_emulator/faults", timeout=10).json()["injected"])


async def test_faults_converge_with_no_duplicate_rules(arize, runbook_policy, store):
    await seed_first_rule(arize)
    # Every rule write may fail, be throttled, or land with its answer lost.
    set_faults(
        arize,
        error_rate=0.2,
        rate_limit_rate=0.1,
        retry_after_s=0.05,
        lost_response_rate=0.3,
        path_prefix="/v2/saml-identity-providers",
        methods=["POST", "PATCH"],
        seed=21,
    )
    try:
        outcome = await run_flow(example_spec(), store)
        faults = injected(arize)
    finally:
        clear_faults(arize)

    assert faults > 0
    assert outcome.status is RunStatus.COMPLETED
    rules = await live_rules(arize)
    assert [m.attribute_value for m in rules] == ["arize-admins", *GROUPS]
    rerun = await run_flow(example_spec(), store)
    assert rerun.status is RunStatus.NO_CHANGES


async def test_an_add_whose_answer_was_lost_is_found_not_repeated(arize, runbook_policy, store):
    await seed_first_rule(arize)
    # The first three rule POSTs land in Arize, but their answers never arrive.
    set_faults(
        arize,
        lost_response_rate=1.0,
        max_faults=3,
        path_prefix="/v2/saml-identity-providers",
        methods=["POST"],
    )
    try:
        outcome = await run_flow(example_spec(), store)
    finally:
        clear_faults(arize)

    assert outcome.status is RunStatus.COMPLETED
    assert [m.attribute_value for m in await live_rules(arize)] == ["arize-admins", *GROUPS]
    journal = emulator_requests(arize)["by_route"]
    posts = journal["POST /v2/saml-identity-providers/{idp_id}/role-mappings"]
    assert posts == 4  # one per added rule: each lost one was found on the retry


async def test_revoke_excess_removes_bindings_through_the_gate(
    arize, runbook_policy, store, tmp_path: Path
):
    await run_flow(example_spec(), store)
    # Lee is only in arize-users now: the rules give him no role on fraud-model.
    export = tmp_path / "okta-groups.json"
    export.write_text(json.dumps([{"email": "lee.leaver@acme.example", "groups": ["arize-users"]}]))
    spec = example_spec(idp_export=str(export), revoke_excess=True)
    async with admin_client(arize) as client:
        lee = await client.users.find_by_email("lee.leaver@acme.example")
        assert lee is not None

        outcome = await run_flow(spec, store, approved=True)

        assert outcome.status is RunStatus.COMPLETED
        assert outcome.approver == "approver@acme.example"
        left = [
            b
            async for resource_type in _types()
            async for b in client.role_bindings.list(resource_type=resource_type, user_id=lee.id)
        ]
    assert left == []
    assert (await run_flow(spec, store)).status is RunStatus.NO_CHANGES


async def _types() -> AsyncIterator[str]:
    for resource_type in ("SPACE", "PROJECT"):
        yield resource_type


async def test_a_hand_edit_is_drift_reported_to_slack_by_the_dry_run(
    arize, runbook_policy: RunbookPolicy, slack_emulator: SlackEmulatorServer, store
):
    await run_flow(example_spec(), store)
    policy = runbook_policy.model_copy(
        update={
            "slack": SlackApprovals(
                bot_token=SLACK_BOT_TOKEN, channel="#arize-admins", base_url=slack_emulator.base_url
            )
        }
    )
    await policy.asave("default", overwrite=True)
    quiet = await run_flow(example_spec(), store, dry_run=True, report_drift_to_slack=True)
    assert quiet.status is RunStatus.DRY_RUN
    assert not _posted(slack_emulator)  # nothing differs: nothing posted

    # By hand in Arize: the readers get ADMIN on ml-platform.
    rules = await live_rules(arize)
    async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
        await client.saml_identity_providers.role_mappings.update(
            rules[4].idp_id, rules[4].id, space=(str(rules[4].space_id), "ADMIN")
        )
    before = mutation_count(arize)

    outcome = await run_flow(example_spec(), store, dry_run=True, report_drift_to_slack=True)

    assert outcome.status is RunStatus.DRY_RUN
    assert mutation_count(arize) == before
    assert any(n.startswith("drift: 1 SAML rule(s) in Arize differ") for n in outcome.notes)
    assert any(n.startswith("drift: the spec's rules are the ones last applied") for n in (
        outcome.notes
    ))
    (text,) = _posted(slack_emulator)
    assert text.startswith("saml-role-mapping drift: 1 change(s)")
    assert "update saml role mapping SAML rule 5 (arize-ml-readers)" in text
    assert "arize-ml-readers → ADMIN on space ml-platform" in text
    assert "edited in Arize since" in text

    # A spec change is not a hand edit: the rules differ from the ones last applied.
    changed = example_spec(rules=example_data()["rules"][:4])
    planned = await run_flow(changed, store, dry_run=True)
    assert not any("last applied" in n for n in planned.notes)


def _posted(slack: SlackEmulatorServer) -> list[str]:
    return [str(m.get("text", "")) for m in slack.messages()["messages"]]


async def test_the_demo_path_runs_the_example_after_onboard_team(
    arize, runbook_policy, store, tmp_path: Path
):
    # As `arize-runbooks demo` does: onboard-team's example first, then this one's, with the
    # demo's spec changes and its output_dir; no gate (nothing destructive on the demo account).
    onboard, saml = get("onboard-team"), get("saml-role-mapping")
    onboarded = await onboard.flow(spec=onboard.example(**onboard.demo_spec))
    assert onboarded.status is RunStatus.COMPLETED
    spec = {**example_data(), **saml.demo_spec, "output_dir": str(tmp_path)}

    outcome = await saml.flow(spec=spec, mapping_store=store)

    assert outcome.status is RunStatus.COMPLETED and outcome.approver is None
    assert [m.attribute_value for m in await live_rules(arize)] == GROUPS
    assert (tmp_path / "group-role-mapping.yaml").is_file()
