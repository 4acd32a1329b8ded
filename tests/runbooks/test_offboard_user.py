"""offboard-user end to end: real emulator over HTTP, real Prefect (test harness)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from arize_admin import (
    ApiKeyType,
    AsyncArizeAdmin,
    AuthenticationError,
    PredefinedRole,
    RoleBindingResourceType,
)
from cli.approvals import answer_gate
from core.planning.plan import SpecError
from flows.offboard_user.flow import offboard_user
from flows.offboard_user.spec import OffboardUserSpec
from tasks.approvals.store import read_request
from tasks.reporting.report import RunStatus
from tests.fixtures.runbooks import (
    admin_client,
    emulator_state,
    example,
    mutation_count,
    run_with_answer,
    wait_for_paused_run,
)

pytestmark = pytest.mark.slow

LEE = "lee.leaver@acme.example"


def example_spec(**changes) -> OffboardUserSpec:
    return example(OffboardUserSpec, "offboard-user", **changes)


admin = admin_client


async def lee_snapshot(arize) -> dict:
    """What Lee has, read as the admin: user, user keys, bindings, service keys they created."""
    async with admin(arize) as client:
        user = await client.users.find_by_email(LEE)
        if user is None:
            return {"user": None}
        keys = [
            k.name async for k in client.api_keys.list(key_type=ApiKeyType.USER, user_id=user.id)
        ]
        bindings = [
            b.id
            for rt in (RoleBindingResourceType.SPACE, RoleBindingResourceType.PROJECT)
            async for b in client.role_bindings.list(resource_type=rt, user_id=user.id)
        ]
        return {"user": user.id, "user_keys": keys, "bindings": bindings}


async def service_key_names(arize) -> list[str]:
    async with admin(arize) as client:
        return sorted([k.name async for k in client.api_keys.list(key_type=ApiKeyType.SERVICE)])


async def test_first_run_offboards_and_second_run_changes_nothing(arize, runbook_policy, tmp_path):
    before = await lee_snapshot(arize)
    # Two space memberships (SPACE bindings) and one PROJECT binding.
    assert before["user_keys"] == ["lee-laptop"] and len(before["bindings"]) == 3
    lee_key = arize.key_for_email(LEE)  # Lee acting with a key of their own

    first = await run_with_answer(
        offboard_user(spec=example_spec(audit_dir=str(tmp_path))), "offboard-user", approved=True
    )

    assert first.status is RunStatus.COMPLETED
    assert first.approver == "approver@acme.example"
    # Both user keys (seeded laptop key and the test's) revoked, then the user deleted.
    assert first.planned == first.applied == 3
    assert await lee_snapshot(arize) == {"user": None}
    assert "lee-etl" in await service_key_names(arize)  # kept by default, reported
    async with AsyncArizeAdmin(api_key=lee_key, base_url=arize.base_url) as as_lee:
        with pytest.raises(AuthenticationError):
            await as_lee.spaces.list(limit=1)

    # The audit record: artifact and JSON, with what they had and who approved.
    [path] = tmp_path.glob("offboard-lee-leaver-acme-example-*.json")
    record = json.loads(path.read_text())
    assert record["user"] == LEE
    assert record["approver"] == "approver@acme.example"
    assert record["reason"] == example_spec().reason and record["ticket"] == "HR-4711"
    assert record["had"]["account_role"] == "MEMBER"
    assert {k["name"] for k in record["had"]["user_keys"]} == {"lee-laptop", "emulator"}
    assert [k["name"] for k in record["had"]["service_keys"]] == ["lee-etl"]
    bindings = {b["resource"]: b["role"] for b in record["had"]["bindings"]}
    assert bindings == {
        "fraud-detection": "MEMBER",
        "search-ranking": "MEMBER",
        "fraud-detection/fraud-model": "Project Viewer",
    }
    assert record["had"]["spaces"] == ["fraud-detection", "search-ranking"]
    assert record["had"]["organizations"] == ["Acme"]
    assert len(record["removed"]) == 3
    assert any("lee-etl" in item for item in record["kept"])
    async with get_client() as client:
        # The newest version: other tests in the session may have offboarded Lee too.
        [artifact] = await client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["offboard-lee-leaver-acme-example"])
            ),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert "approver@acme.example" in artifact.data and "HR-4711" in artifact.data
    assert lee_key not in artifact.data and lee_key not in path.read_text()

    before = mutation_count(arize)
    state = emulator_state(arize)
    second = await offboard_user(spec=example_spec())
    assert second.status is RunStatus.NO_CHANGES
    assert second.planned == 0
    assert any("nothing to do" in note for note in second.notes)
    assert mutation_count(arize) == before
    assert emulator_state(arize) == state


async def test_revoke_service_keys_revokes_what_they_created(arize, runbook_policy):
    outcome = await run_with_answer(
        offboard_user(spec=example_spec(revoke_service_keys=True)), "offboard-user", approved=True
    )

    assert outcome.status is RunStatus.COMPLETED
    assert outcome.applied == 3  # laptop key, lee-etl, the user
    assert "lee-etl" not in await service_key_names(arize)
    assert await service_key_names(arize) == ["ci-fraud-detection", "etl-search-ranking"]


async def test_offboard_by_user_id(arize, runbook_policy):
    user_id = arize.user_id(LEE)

    outcome = await run_with_answer(
        offboard_user(spec=OffboardUserSpec(user_id=user_id, reason="left")),
        "offboard-user",
        approved=True,
    )

    assert outcome.status is RunStatus.COMPLETED
    assert await lee_snapshot(arize) == {"user": None}


async def test_email_is_matched_case_insensitively(arize, runbook_policy):
    outcome = await offboard_user(spec=example_spec(email="Lee.Leaver@ACME.example"), dry_run=True)

    assert outcome.status is RunStatus.DRY_RUN
    assert outcome.subject == LEE and outcome.planned == 2


async def test_the_leaver_is_protected_from_approving(arize, runbook_policy):
    since = datetime.now(UTC)

    async def inspect_then_reject():
        run = await wait_for_paused_run("offboard-user", since)
        async with get_client() as client:
            request = await read_request(client, run.id, run.state.state_details.pause_key)
        await answer_gate(run.id, approved=False, approver="approver@acme.example")
        return request

    inspector = asyncio.create_task(inspect_then_reject())
    outcome = await offboard_user(spec=example_spec(email="Lee.Leaver@acme.example"))
    request = await inspector

    assert outcome.status is RunStatus.REJECTED
    assert LEE in request.protected
    assert request.subject == LEE and len(request.destructive) == 2


async def test_unknown_user_is_a_successful_no_op(arize, runbook_policy):
    before = mutation_count(arize)

    outcome = await offboard_user(spec=example_spec(email="nobody@acme.example"))

    assert outcome.status is RunStatus.NO_CHANGES
    assert outcome.planned == 0
    assert any("nobody@acme.example" in note and "nothing to do" in note for note in outcome.notes)
    assert mutation_count(arize) == before


async def test_last_account_admin_is_refused(arize, runbook_policy):
    before = mutation_count(arize)

    with pytest.raises(SpecError, match="last active account admin") as caught:
        await offboard_user(spec=example_spec(email="admin@acme.example"))

    assert str(caught.value).startswith("spec.email = 'admin@acme.example'")
    assert mutation_count(arize) == before


async def test_admin_with_another_admin_is_not_refused_but_own_credentials_are(
    arize, runbook_policy
):
    async with admin(arize) as client:
        await client.users.create(
            name="Alex Admin",
            email="alex@acme.example",
            role=PredefinedRole(name="ADMIN"),
            invite_mode="NONE",
        )
    # Another admin exists now, but the runbook runs with admin@'s own key: refuse that too.
    with pytest.raises(SpecError, match="runbook runs with"):
        await offboard_user(spec=example_spec(email="admin@acme.example"), dry_run=True)

    outcome = await offboard_user(spec=example_spec(email="alex@acme.example"), dry_run=True)
    assert outcome.status is RunStatus.DRY_RUN and outcome.planned == 1
