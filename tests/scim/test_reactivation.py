"""Deactivate, then reactivate: offboard-user (account kept) saves what the person had and takes
it all away; restore-user gives back exactly that, minus what was revoked since. The flows run
for real (Prefect test harness) against the Arize emulator over HTTP, gates answered."""

from __future__ import annotations

from typing import Any

import pytest

from arize_admin import AsyncArizeAdmin, CustomRole, RoleBindingResourceType
from flows.offboard_user.flow import offboard_user
from flows.offboard_user.snapshot import snapshot_name
from flows.offboard_user.snapshot_store import load_snapshot
from flows.offboard_user.spec import OffboardUserSpec
from flows.restore_user.flow import restore_user
from flows.restore_user.spec import RestoreUserSpec
from flows.saml_role_mapping.mapping import DEFAULT_STORE, remember_mapping
from tasks.reporting.report import RunStatus
from tasks.steps.apply import ApplyFailed
from tests.fixtures.runbooks import admin_client, clear_faults, run_with_answer, set_faults

pytestmark = pytest.mark.slow

LEE = "lee.leaver@acme.example"


async def access(client: AsyncArizeAdmin, email: str) -> set[tuple[str, str, str]]:
    """(resource type, resource id, role id) of every binding of ``email``."""
    user = await client.users.find_by_email(email)
    assert user is not None, f"{email} has an account"
    return {
        (b.resource_type.value, b.resource_id, b.role_id)
        for kind in (RoleBindingResourceType.SPACE, RoleBindingResourceType.PROJECT)
        async for b in client.role_bindings.list(resource_type=kind, user_id=user.id)
    }


async def ids(client: AsyncArizeAdmin) -> dict[str, Any]:
    roles = {r.name: r.id async for r in client.roles.list()}
    spaces = {s.name: s.id async for s in client.spaces.list()}
    return {"roles": roles, "spaces": spaces}


async def test_deactivate_then_reactivate_restores_exactly_minus_what_was_revoked(
    arize, runbook_policy
) -> None:
    async with admin_client(arize) as client:
        known = await ids(client)
        lee = await client.users.find_by_email(LEE)
        assert lee is not None
        # By hand in Arize, outside any IdP group: Space Editor on ml-platform.
        await client.spaces.add_user(
            known["spaces"]["ml-platform"], user_id=lee.id,
            role=CustomRole(id=known["roles"]["Space Editor"]),
        )
        had = await access(client, LEE)
    viewer = known["roles"]["Project Viewer"]
    from_group = {grant for grant in had if grant[2] == viewer}
    assert from_group and len(had - from_group) >= 3  # two memberships and the hand grant
    # What saml-role-mapping last published: the IdP group arize-project-viewers gives
    # Project Viewer (Lee's fraud-model binding).
    await remember_mapping(DEFAULT_STORE, {"arize-project-viewers": viewer})

    leave = OffboardUserSpec(
        email=LEE, reason="deactivated in Okta", keep_account=True,
        idp_groups=["arize-users", "arize-project-viewers"],
    )
    left = await run_with_answer(offboard_user(spec=leave), "offboard-user", approved=True)
    assert left.status is RunStatus.COMPLETED
    async with admin_client(arize) as client:
        assert await access(client, LEE) == set()  # account kept, emptied
    snapshot = await load_snapshot(LEE)
    assert snapshot is not None and LEE not in snapshot_name(LEE)
    assert {(g.resource_type, g.resource_id, g.role_id) for g in snapshot.grants} == had

    # A rerun of the leave (Entra's DELETE after its disable, a retried event) keeps the snapshot.
    again = await offboard_user(spec=leave)
    assert again.status is RunStatus.NO_CHANGES
    assert (await load_snapshot(LEE)) == snapshot

    # While away, the IdP takes Lee out of arize-project-viewers: that grant is revoked since.
    back = RestoreUserSpec(email=LEE, name="Lee Leaver", groups=["arize-users"])
    restored = await run_with_answer(restore_user(spec=back), "restore-user", approved=True)
    assert restored.status is RunStatus.COMPLETED
    async with admin_client(arize) as client:
        assert await access(client, LEE) == had - from_group
    kept = await load_snapshot(LEE)
    assert kept is not None and kept.restored_at is not None

    # Idempotent: a rerun finds it all in place and waits for nobody.
    rerun = await restore_user(spec=back)
    assert rerun.status is RunStatus.NO_CHANGES


async def test_a_role_deleted_since_is_not_restored_and_rejection_restores_nothing(
    arize, runbook_policy
) -> None:
    async with admin_client(arize) as client:
        known = await ids(client)
        lee = await client.users.find_by_email(LEE)
        assert lee is not None
        temp = await client.roles.create(name="Incident Helper", permissions=["SPACE_READ"])
        await client.spaces.add_user(
            known["spaces"]["ml-platform"], user_id=lee.id, role=CustomRole(id=temp.id)
        )
        had = await access(client, LEE)
    await remember_mapping(DEFAULT_STORE, {})
    leave = OffboardUserSpec(email=LEE, reason="deactivated", keep_account=True)
    left = await run_with_answer(offboard_user(spec=leave), "offboard-user", approved=True)
    assert left.status is RunStatus.COMPLETED
    async with admin_client(arize) as client:
        await client.roles.delete(temp.id)  # revoked since: the role is gone

    back = RestoreUserSpec(email=LEE, name="Lee Leaver")
    refused = await run_with_answer(restore_user(spec=back), "restore-user", approved=False)
    assert refused.status is RunStatus.REJECTED
    async with admin_client(arize) as client:
        assert await access(client, LEE) == set()
    restored = await run_with_answer(restore_user(spec=back), "restore-user", approved=True)
    assert restored.status is RunStatus.COMPLETED
    async with admin_client(arize) as client:
        assert await access(client, LEE) == {g for g in had if g[2] != temp.id}


async def test_a_rejected_offboarding_keeps_no_snapshot(arize, runbook_policy) -> None:
    leave = OffboardUserSpec(email=LEE, reason="deactivated", keep_account=True)
    refused = await run_with_answer(offboard_user(spec=leave), "offboard-user", approved=False)
    assert refused.status is RunStatus.REJECTED
    # Nothing was taken, so nothing is owed: a later offboarding starts from what they have then.
    assert await load_snapshot(LEE) is None


async def test_an_offboarding_cut_off_halfway_then_rerun_keeps_all_it_took(
    arize, runbook_policy
) -> None:
    async with admin_client(arize) as client:
        had = await access(client, LEE)
    assert len(had) >= 3
    await remember_mapping(DEFAULT_STORE, {})
    leave = OffboardUserSpec(email=LEE, reason="deactivated", keep_account=True)

    # The first run is cut off: one unbind is refused (403, not retried) after the others went.
    set_faults(arize, error_rate=1, error_statuses=[403], methods=["DELETE"],
               path_prefix="/v2/role-bindings", max_faults=1)  # fmt: skip
    try:
        with pytest.raises(ApplyFailed):
            await run_with_answer(offboard_user(spec=leave), "offboard-user", approved=True)
    finally:
        clear_faults(arize)
    async with admin_client(arize) as client:
        left = await access(client, LEE)
    assert left and left < had

    # The rerun inventories only what is left; the snapshot still holds all they had.
    rerun = await run_with_answer(offboard_user(spec=leave), "offboard-user", approved=True)
    assert rerun.status is RunStatus.COMPLETED
    snapshot = await load_snapshot(LEE)
    assert snapshot is not None
    assert {(g.resource_type, g.resource_id, g.role_id) for g in snapshot.grants} == had

    back = RestoreUserSpec(email=LEE, name="Lee Leaver")
    restored = await run_with_answer(restore_user(spec=back), "restore-user", approved=True)
    assert restored.status is RunStatus.COMPLETED
    async with admin_client(arize) as client:
        assert await access(client, LEE) == had


async def test_the_approval_policy_decides_whether_a_restore_waits(
    arize, runbook_policy
) -> None:
    async with admin_client(arize) as client:
        had = await access(client, LEE)
    await remember_mapping(DEFAULT_STORE, {})
    leave = OffboardUserSpec(email=LEE, reason="deactivated", keep_account=True)
    left = await run_with_answer(offboard_user(spec=leave), "offboard-user", approved=True)
    assert left.status is RunStatus.COMPLETED

    # The policy's gate_restores is on by default: a spec (a route's parameters) saying no
    # approval is needed still waits, and the refusal restores nothing.
    no_gate = RestoreUserSpec(email=LEE, name="Lee Leaver", require_approval=False)
    refused = await run_with_answer(restore_user(spec=no_gate), "restore-user", approved=False)
    assert refused.status is RunStatus.REJECTED
    async with admin_client(arize) as client:
        assert await access(client, LEE) == set()

    # With gate_restores off, the same run gives the access back without waiting for anyone.
    approval = runbook_policy.approval.model_copy(update={"gate_restores": False})
    await runbook_policy.model_copy(update={"approval": approval}).asave("default", overwrite=True)
    restored = await restore_user(spec=no_gate)
    assert restored.status is RunStatus.COMPLETED
    assert restored.approver is None
    async with admin_client(arize) as client:
        assert await access(client, LEE) == had
