"""The saml-role-mapping planner on the SAML rules, in process (emulator app, no Prefect).

Each test seeds a configuration through the API (or the control plane for a file-managed
one), plans a spec against it and checks the changes, their order, the gate and the words.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from arize_admin import AsyncArizeAdmin
from arize_admin.types import SamlRoleMappingRule
from core.planning.changes import (
    Action,
    CreateSamlIdentityProvider,
    UnbindRole,
    UpdateSamlRoleMapping,
)
from core.planning.plan import Plan, SpecError
from flows.saml_role_mapping.effects import evaluate
from flows.saml_role_mapping.plan import plan_saml_role_mapping
from flows.saml_role_mapping.spec import SamlRoleMappingSpec
from tasks.steps.saml import request_rule
from tests.saml.conftest import mutations

IDP = "Acme Okta"
MEMBERS = {"group": "arize-users", "account_role": "MEMBER"}
AUDITORS = {
    "group": "auditors",
    "space": "fraud-detection",
    "project": "fraud-model",
    "project_role": "Project Viewer",
}
EDITORS = {
    "group": "editors",
    "space": "fraud-detection",
    "project": "fraud-model",
    "project_role": "Space Editor",
}
READERS = {"group": "readers", "space": "ml-platform", "space_role": "READ_ONLY"}


def spec(*rules: dict[str, Any], **extra: Any) -> SamlRoleMappingSpec:
    return SamlRoleMappingSpec.model_validate(
        {
            "identity_provider": {
                "name": IDP,
                "create": {
                    "metadata_url": "https://idp.acme.example/metadata",
                    "email_domains": ["acme.example"],
                },
            },
            "rules": list(rules),
            **extra,
        }
    )


async def seed_idp(client: AsyncArizeAdmin, *rules: dict[str, Any]) -> str:
    """A configuration named IDP: the admin mapping first, then ``rules`` in order."""
    plan = await plan_saml_role_mapping(client, spec(*rules))
    (create,) = plan.changes
    assert isinstance(create, CreateSamlIdentityProvider)
    idp = await client.saml_identity_providers.create(
        name=IDP,
        email_domains=["acme.example"],
        metadata_url="https://idp.acme.example/metadata",
        role_mappings=[
            SamlRoleMappingRule(
                attribute_name="groups", attribute_value="arize-admins", account_role="ADMIN"
            ),
            *[request_rule(rule) for rule in create.rules],
        ],
    )
    return idp.id


def summary(plan: Plan) -> list[tuple[str, str, bool]]:
    return [(str(c.action), c.target, c.destructive) for c in plan.changes]


async def test_a_missing_configuration_is_created_with_the_rules_in_order(client):
    plan = await plan_saml_role_mapping(client, spec(MEMBERS, AUDITORS, READERS))

    (create,) = plan.changes
    assert isinstance(create, CreateSamlIdentityProvider)
    assert not create.destructive
    assert [r.group for r in create.rules] == ["arize-users", "auditors", "readers"]
    assert create.rules[1].project_role_id is not None  # a seeded role: its id is known
    assert any(n.startswith("group readers gains: space ml-platform") for n in plan.notes)


async def test_a_configuration_matching_the_spec_plans_nothing(client):
    await seed_idp(client, MEMBERS, AUDITORS, EDITORS)

    plan = await plan_saml_role_mapping(client, spec(MEMBERS, AUDITORS, EDITORS))

    assert plan.changes == []
    assert plan.in_place[:3] == [
        "SAML rule 1: arize-users → account MEMBER",
        "SAML rule 2: auditors → Project Viewer on project fraud-model",
        "SAML rule 3: editors → Space Editor on project fraud-model",
    ]
    # The admin mapping is Arize's own: left alone, and said so.
    assert any("left alone" in line for line in plan.in_place)


async def test_appending_a_rule_needs_no_approval(client):
    await seed_idp(client, MEMBERS, AUDITORS)

    plan = await plan_saml_role_mapping(client, spec(MEMBERS, AUDITORS, READERS))

    assert summary(plan) == [(Action.ADD_SAML_ROLE_MAPPING, "SAML rule 3 (readers)", False)]
    assert plan.changes[0].index == 2


async def test_a_reorder_that_changes_what_people_get_is_gated_and_explained(client):
    await seed_idp(client, MEMBERS, AUDITORS, EDITORS)

    plan = await plan_saml_role_mapping(client, spec(MEMBERS, EDITORS, AUDITORS))

    # Rewritten in place (Arize keeps an updated rule's place), both gated.
    assert summary(plan) == [
        (Action.UPDATE_SAML_ROLE_MAPPING, "SAML rule 2 (editors)", True),
        (Action.UPDATE_SAML_ROLE_MAPPING, "SAML rule 3 (auditors)", True),
    ]
    assert [c.stage for c in plan.changes] == [10, 11]
    assert (
        "members of auditors and editors loses: project fraud-model: Project Viewer → "
        "Space Editor (needs approval)"
    ) in plan.notes
    # Alone, neither group loses anything.
    assert not [n for n in plan.notes if n.startswith(("group auditors", "group editors"))]


async def test_a_reorder_of_rules_that_do_not_meet_needs_no_approval(client):
    await seed_idp(client, MEMBERS, AUDITORS, READERS)

    plan = await plan_saml_role_mapping(client, spec(MEMBERS, READERS, AUDITORS))

    assert [c.destructive for c in plan.changes] == [False, False]


async def test_removing_a_rule_is_gated_and_the_admin_mapping_is_never_touched(client):
    idp_id = await seed_idp(client, MEMBERS, AUDITORS, READERS)

    plan = await plan_saml_role_mapping(client, spec(MEMBERS, AUDITORS))

    assert summary(plan) == [(Action.REMOVE_SAML_ROLE_MAPPING, "SAML rule 3 (readers)", True)]
    assert "group readers loses: space ml-platform: READ_ONLY → none (needs approval)" in (
        plan.notes
    )
    live = [m async for m in client.saml_identity_providers.role_mappings.list(idp_id)]
    touched = {getattr(c, "mapping_id", None) for c in plan.changes}
    assert live[0].account_role == "ADMIN" and live[0].id not in touched


async def test_a_hand_edit_in_arize_shows_as_drift(client):
    idp_id = await seed_idp(client, MEMBERS, AUDITORS, READERS)
    live = [m async for m in client.saml_identity_providers.role_mappings.list(idp_id)]
    # Someone raises the readers' role on ml-platform by hand.
    space = live[3].space_id
    await client.saml_identity_providers.role_mappings.update(
        idp_id, live[3].id, space=(space, "ADMIN")
    )

    plan = await plan_saml_role_mapping(client, spec(MEMBERS, AUDITORS, READERS))

    (update,) = plan.changes
    assert isinstance(update, UpdateSamlRoleMapping)
    assert update.was == "readers → ADMIN on space ml-platform"
    assert update.destructive  # putting it back takes ADMIN away from the group
    assert any(n.startswith("drift: 1 SAML rule(s) in Arize differ") for n in plan.notes)


async def test_a_file_managed_configuration_is_refused_naming_the_migration(client, control):
    response = await control.post(
        "/_emulator/saml/file-managed",
        json={
            "name": IDP,
            "metadata_url": "https://idp.acme.example/metadata",
            "email_domains": ["acme.example"],
            "role_mappings": [
                {"attribute_name": "groups", "attribute_value": "a", "account_role": "ADMIN"}
            ],
        },
    )
    response.raise_for_status()
    before = await mutations(control)

    with pytest.raises(SpecError) as caught:
        await plan_saml_role_mapping(client, spec(MEMBERS, AUDITORS))

    assert caught.value.field == "identity_provider"
    assert "file-managed" in caught.value.fix and "migrate it" in caught.value.fix
    assert "Nothing was changed" in caught.value.fix
    assert await mutations(control) == before


async def test_a_non_admin_key_is_explained(
    as_user: Callable[[str], Awaitable[AsyncArizeAdmin]], client
):
    member = await as_user("dana@acme.example")

    with pytest.raises(SpecError) as caught:
        await plan_saml_role_mapping(member, spec(MEMBERS))

    assert caught.value.field == "identity_provider"
    assert "(403)" in caught.value.fix
    assert "account admin of an Enterprise account" in caught.value.fix


async def test_the_last_login_rule_is_never_planned_away(client, control):
    # A configuration without an admin mapping: its only login rule is a managed one.
    await client.saml_identity_providers.create(
        name=IDP,
        email_domains=["acme.example"],
        metadata_url="https://idp.acme.example/metadata",
        role_mappings=[
            SamlRoleMappingRule(
                attribute_name="groups", attribute_value="arize-users", account_role="MEMBER"
            )
        ],
    )
    before = await mutations(control)

    with pytest.raises(SpecError, match="nobody could log in") as caught:
        await plan_saml_role_mapping(client, spec(READERS))

    assert caught.value.field == "rules"
    assert await mutations(control) == before


async def test_names_that_do_not_exist_fail_naming_the_field(client):
    bad = {**READERS, "space": "nope"}
    with pytest.raises(SpecError, match=r"^spec\.rules\[1\]\.space"):
        await plan_saml_role_mapping(client, spec(MEMBERS, bad))
    bad = {**READERS, "space_role": "No Such Role"}
    with pytest.raises(SpecError, match=r"^spec\.rules\[0\]\.space_role"):
        await plan_saml_role_mapping(client, spec(bad))


async def test_a_new_configuration_needs_a_rule_that_lets_people_log_in(client):
    with pytest.raises(SpecError, match=r"^spec\.rules = 1: no rule grants an account_role"):
        await plan_saml_role_mapping(client, spec(READERS))


@pytest.mark.parametrize("revoke", [False, True])
async def test_bindings_beyond_the_rules_are_listed_or_revoked(
    client, tmp_path: Path, revoke: bool
):
    # The seed binds Lee to Project Viewer on fraud-model, and makes Sam a MEMBER of
    # search-ranking. The rules give Lee nothing on fraud-model; Sam is listed with readers,
    # whose READ_ONLY on ml-platform is all; bots and people not in the export are not checked.
    await seed_idp(client, MEMBERS, AUDITORS)
    export = tmp_path / "groups.csv"
    export.write_text(
        "email,groups\nlee.leaver@acme.example,arize-users\ndana@acme.example,auditors\n"
    )
    extra = {"idp_export": str(export), "revoke_excess": revoke}

    plan = await plan_saml_role_mapping(client, spec(MEMBERS, AUDITORS, **extra))

    lee = "lee.leaver@acme.example"
    expected = [
        ("dana@acme.example", "MEMBER on space fraud-detection"),
        (lee, "MEMBER on space fraud-detection"),
        (lee, "MEMBER on space search-ranking"),
        (lee, "Project Viewer on project fraud-model"),
    ]
    if revoke:
        assert all(isinstance(c, UnbindRole) and c.destructive for c in plan.changes)
        assert sorted(c.target for c in plan.changes) == sorted(
            f"{what.split(' on ')[0]} of {email} on {what.split(' on ')[1]}"
            for email, what in expected
        )
    else:
        assert plan.changes == []
        listed = [n for n in plan.notes if n.startswith("excess: ")]
        assert [n.split(" is beyond")[0] for n in listed] == [
            f"excess: {email}: {what}" for email, what in expected
        ]


async def test_the_export_must_carry_groups(client, tmp_path: Path):
    await seed_idp(client, MEMBERS)
    export = tmp_path / "people.csv"
    export.write_text("email\nlee@acme.example\n")
    with pytest.raises(SpecError, match="lists no groups"):
        await plan_saml_role_mapping(client, spec(MEMBERS, idp_export=str(export)))


def test_evaluation_follows_the_documented_rules():
    rules = [
        ("groups", "a", "MEMBER", "s1", "READ_ONLY", "p1", "role-a"),
        ("groups", "b", "ANNOTATOR", "s1", "ADMIN", "p1", "role-b"),
        ("groups", "c", None, "s1", "custom:role-c", None, None),
        ("groups", "d", None, "s1", "custom:role-d", None, None),
        ("other", "a", "ADMIN", None, None, None, None),
    ]
    both = evaluate(rules, "groups", {"a", "b"})
    assert both.account == "MEMBER"  # most permissive account role
    assert both.spaces == {"s1": "ADMIN"}  # most permissive built-in space role
    assert both.projects == {"p1": "role-a"}  # first match
    # A custom space role wins over built-ins; the first custom one matches.
    assert evaluate(rules, "groups", {"b", "d", "c"}).spaces == {"s1": "custom:role-c"}


def test_a_rule_that_grants_nothing_is_refused_by_validation():
    with pytest.raises(ValueError, match="a rule grants account_role"):
        spec({"group": "g"})
    with pytest.raises(ValueError, match="project_role needs project"):
        spec({"group": "g", "project_role": "Project Viewer"})
    with pytest.raises(ValueError, match="rules need identity_provider"):
        SamlRoleMappingSpec.model_validate({"rules": [MEMBERS]})
