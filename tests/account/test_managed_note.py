"""The note in other runbooks' reports: a change to a resource account-as-code manages says so.

End to end with real Prefect and the emulator over HTTP: detect-drift publishes the files'
scope, then onboard-team runs into a managed space (note), into an unmanaged one (no note),
and apply-account itself runs (no note: it is what the files say). In process beside them:
which changes the scope matches.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prefect import get_client
from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey

from blocks.slack import SlackApprovals
from core.planning.changes import (
    BindRole,
    CreateRole,
    CreateSpace,
    InviteUser,
    RebindRole,
    SetSpaceRole,
    UnbindRole,
)
from core.planning.plan import Plan
from flows.account_as_code.drift import DriftSource
from flows.account_as_code.export import export_account, write_account
from flows.account_as_code.flow import apply_account, detect_drift
from flows.account_as_code.format import AccountSpec, ProjectDecl, RoleDecl, SpaceDecl
from flows.account_as_code.loader import load_account
from flows.account_as_code.scope import managed_scope
from flows.onboard_team.flow import onboard_team
from flows.onboard_team.spec import MemberSpec, OnboardTeamSpec
from flows.restrict_project.flow import restrict_project
from tasks.reporting.managed_scope import forget_scope, published_scope
from tasks.reporting.report import RunStatus, report_key
from tests.fixtures.runbooks import EXAMPLES, admin_client, run_with_answer
from tests.fixtures.slack import SLACK_BOT_TOKEN

SPEC = AccountSpec(
    spaces=[
        SpaceDecl(
            name="fraud-detection", id="S1", organization="Acme",
            projects=[ProjectDecl(name="fraud-model", id="P1")],
        )
    ],
    roles=[RoleDecl(name="Space Editor", id="R1", permissions=["PROJECT_READ"])],
)


def plan_of(*changes) -> Plan:
    return Plan(runbook="onboard-team", subject="team", changes=list(changes))


def test_a_change_in_a_managed_space_by_name_or_id_gets_one_note_per_space():
    scope = managed_scope(SPEC, source="acme/")
    plan = plan_of(
        SetSpaceRole(target="sam in fraud-detection", space="fraud-detection", email="sam@x.io",
                     role="MEMBER"),
        BindRole(target="viewer on fraud-model", email="sam@x.io", role_id="R9",
                 resource_type="PROJECT", resource_id="P1"),
        SetSpaceRole(target="sam in fraud-ops", space="fraud-ops", email="sam@x.io",
                     role="MEMBER"),
        InviteUser(target="sam@x.io", name="Sam", email="sam@x.io", account_role="MEMBER",
                   invite_mode="EMAIL_LINK"),
    )

    notes = scope.notes(plan, applied=True)

    assert len(notes) == 1
    assert "space fraud-detection is managed in account-as-code (acme/" in notes[0]
    assert "project bindings: additive" in notes[0] and "space members: additive" in notes[0]
    assert "files now differ" in notes[0]
    assert "would differ" in scope.notes(plan, applied=False)[0]


def test_an_unbind_or_rebind_is_placed_by_the_resource_its_binding_is_on():
    """offboard-user, restrict-project, saml-role-mapping and a grant's end remove or change a
    binding they read: the change carries what it is on, so the report can place it."""
    scope = managed_scope(SPEC, source="acme/")
    unbind = UnbindRole(target="sam on fraud-model", binding_id="B1", user_id="U1",
                        resource_id="P1", destructive=True)
    rebind = RebindRole(target="sam in fraud-detection", binding_id="B2", role_id="R1",
                        resource_id="S1")
    elsewhere = UnbindRole(target="sam on other", binding_id="B3", user_id="U1",
                           resource_id="P9", destructive=True)
    unplaced = UnbindRole(target="sam", binding_id="B4", user_id="U1", destructive=True)

    assert scope.notes(plan_of(elsewhere, unplaced), applied=True) == []
    (note,) = scope.notes(plan_of(unbind), applied=True)
    assert "space fraud-detection" in note and "project bindings: additive" in note
    assert "space members" not in note
    (note,) = scope.notes(plan_of(rebind), applied=False)
    assert "space members: additive" in note and "project bindings" not in note


def test_a_declared_custom_role_is_managed_an_undeclared_one_is_not():
    scope = managed_scope(SPEC, source="acme/")
    declared = CreateRole(target="Space Editor", name="Space Editor", permissions=["X"])
    other = CreateRole(target="Fraud Analyst", name="Fraud Analyst", permissions=["X"])
    new_space = CreateSpace(target="fraud-ops", name="fraud-ops", organization_id="O1")

    assert scope.notes(plan_of(other, new_space), applied=True) == []
    (note,) = scope.notes(plan_of(declared), applied=True)
    assert note.startswith("this custom role Space Editor is managed")


def test_the_publishers_own_plan_gets_no_note():
    scope = managed_scope(SPEC, source="acme/")
    change = SetSpaceRole(target="sam", space="fraud-detection", email="s@x.io", role="MEMBER")
    assert scope.notes(Plan(runbook=scope.publisher, subject="account", changes=[change]),
                       applied=True) == []


@pytest.fixture
async def no_scope(prefect_harness):
    await forget_scope()
    yield
    await forget_scope()


async def report_markdown(runbook: str, subject: str) -> str:
    async with get_client() as client:
        artifact = await client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(
                key=ArtifactCollectionFilterKey(any_=[report_key(runbook, subject)])
            )
        )
    return artifact[0].data if artifact else ""


@pytest.mark.slow
async def test_onboard_team_into_a_managed_space_says_so_and_elsewhere_not(
    arize, runbook_policy, no_scope, tmp_path: Path
):
    directory = tmp_path / "account"
    async with admin_client(arize) as client:
        write_account(await export_account(client), directory)
    drift = await detect_drift(source=DriftSource(path=str(directory)), name=tmp_path.name)
    assert not drift.drift
    scope = await published_scope()
    assert scope is not None and scope.source == str(directory)
    sam = MemberSpec(name="Sam", email="sam@acme.example", space_role="READ_ONLY")

    managed = await onboard_team(
        spec=OnboardTeamSpec(organization="Acme", space="fraud-detection", members=[sam])
    )
    unmanaged = await onboard_team(
        spec=OnboardTeamSpec(organization="Acme", space="fraud-ops", members=[sam])
    )

    assert managed.status is RunStatus.COMPLETED
    (note,) = managed.managed
    assert "space fraud-detection is managed in account-as-code" in note
    assert "files now differ" in note and note in managed.notes
    assert note in await report_markdown("onboard-team", managed.subject)
    assert unmanaged.status is RunStatus.COMPLETED and unmanaged.managed == []
    assert "account-as-code" not in await report_markdown("onboard-team", unmanaged.subject)

    # apply-account's own changes are what the files say: no note, though it changes the space.
    path = directory / "spaces/Acme/fraud-detection.yaml"
    data = yaml.safe_load(path.read_text())
    for member in data["spaces"][0]["members"]:
        if member["email"] == "dana@acme.example":
            member["role"] = "ADMIN"  # widens: not gated
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    applied = await apply_account(spec=load_account(directory).spec)
    assert applied.status is RunStatus.COMPLETED and applied.applied > 0
    assert applied.managed == []


@pytest.mark.slow
async def test_a_gated_runbook_in_a_managed_space_says_so_in_its_slack_thread(
    arize, runbook_policy, slack_emulator, no_scope, tmp_path: Path
):
    policy = runbook_policy.model_copy(update={"slack": SlackApprovals(
        bot_token=SLACK_BOT_TOKEN, channel="#arize-approvals", base_url=slack_emulator.base_url
    )})
    await policy.asave("default", overwrite=True)
    directory = tmp_path / "account"
    async with admin_client(arize) as client:
        write_account(await export_account(client), directory)
    await detect_drift(source=DriftSource(path=str(directory)), name=tmp_path.name)

    spec = yaml.safe_load(EXAMPLES.joinpath("restrict-project.yaml").read_text())
    outcome = await run_with_answer(
        restrict_project(spec=spec), "restrict-project", approved=True
    )

    assert outcome.status is RunStatus.COMPLETED
    (note,) = outcome.managed
    assert "space fraud-detection is managed in account-as-code" in note
    messages = slack_emulator.messages()["messages"]
    (gate,) = [m for m in messages if not m.get("thread_ts")]
    replies = [m["text"] for m in messages if m.get("thread_ts") == gate["ts"]]
    assert any(r.startswith("Done:") and note in r for r in replies), replies
