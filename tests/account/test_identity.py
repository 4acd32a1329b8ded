"""Renames update in place by id; invited people count as present and are never re-added."""

from __future__ import annotations

from pathlib import Path

import yaml

from arize_admin import InviteMode, PredefinedRole
from tests.account.conftest import Account, edit

FRAUD = "spaces/Acme/fraud-detection.yaml"


async def test_renaming_a_role_and_a_space_in_the_files_updates_them_in_place(
    account: Account, exported: Path
):
    def rename_role(data: dict) -> None:
        role = next(r for r in data["roles"] if r["name"] == "Project Viewer")
        role["name"] = "Project Reader"

    edit(exported / "roles.yaml", rename_role)
    fraud = exported / FRAUD
    fraud.write_text(
        fraud.read_text()
        .replace("role: Project Viewer", "role: Project Reader")
        .replace("name: fraud-detection", "name: fraud-and-abuse")
    )
    roles_before = {r.id for r in await account.client.roles.list().to_list()}
    bindings_before = await account.client.role_bindings.list(resource_type="PROJECT").to_list()

    plan = await account.plan(exported)

    assert sorted(str(c.action) for c in plan.changes) == ["rename-role", "update-space"]
    assert not plan.destructive
    await account.apply(plan)
    assert (await account.plan(exported)).changes == []
    assert {r.id for r in await account.client.roles.list().to_list()} == roles_before
    bindings_after = await account.client.role_bindings.list(resource_type="PROJECT").to_list()
    assert [b.id for b in bindings_after] == [b.id for b in bindings_before], "bindings kept"
    assert await account.client.spaces.find_by_name("fraud-and-abuse") is not None


async def test_an_invited_person_counts_as_present_and_is_not_invited_again(
    account: Account, exported: Path
):
    await account.client.users.create(
        name="Ivy Invited", email="ivy@acme.example", role="MEMBER",
        invite_mode=InviteMode.EMAIL_LINK,
    )
    again = exported.parent / "again"
    await account.export(again)
    users = yaml.safe_load((again / "users.yaml").read_text())["users"]
    assert {"email": "ivy@acme.example", "name": "Ivy Invited", "invited": True} in users

    assert (await account.plan(again)).changes == []

    # Declared by hand before she accepts: still present, nothing planned, twice over.
    edit(exported / "users.yaml",
         lambda d: d["users"].append({"email": "IVY@acme.example", "name": "Ivy Invited"}))
    edit(exported / FRAUD, lambda d: d["spaces"][0]["members"].append(
        {"email": "ivy@acme.example", "role": "MEMBER"}))
    plan = await account.plan(exported)
    assert [str(c.action) for c in plan.changes] == ["set-org-role", "set-space-role"]
    await account.apply(plan)
    assert (await account.plan(exported)).changes == []
    invited = [u for u in await account.client.users.list().to_list() if "ivy" in u.email]
    assert len(invited) == 1


async def test_a_new_person_in_two_spaces_joins_the_organization_once(
    account: Account, exported: Path
):
    edit(exported / "users.yaml",
         lambda d: d["users"].append({"email": "new.hire@acme.example", "name": "New Hire"}))
    for name in ("fraud-detection", "search-ranking"):
        edit(exported / "spaces" / "Acme" / f"{name}.yaml", lambda d: d["spaces"][0]["members"]
             .append({"email": "new.hire@acme.example", "role": "MEMBER"}))

    plan = await account.plan(exported)

    assert sorted(str(c.action) for c in plan.changes) == [
        "invite-user", "set-org-role", "set-space-role", "set-space-role"
    ]
    await account.apply(plan)
    assert (await account.plan(exported)).changes == []


async def test_organization_membership_is_not_listable_and_never_flaps(
    account: Account, exported: Path
):
    # Arize's admin API adds and removes organization members but cannot list them. Someone
    # who is a member of the organization only (no space role there) is invisible to a read:
    # export writes nothing for it and a plan plans nothing for it, however often it runs.
    acme = await account.client.organizations.find_by_name("Acme")
    olga = await account.client.users.create(
        name="Olga Org", email="olga@acme.example", role="MEMBER",
        invite_mode=InviteMode.EMAIL_LINK,
    )
    await account.client.organizations.add_user(
        acme.id, user_id=olga.id, role=PredefinedRole(name="READ_ONLY")
    )
    again = await account.export(exported.parent / "again")
    assert (await account.plan(again)).changes == []
    assert (await account.plan(again)).changes == []

    # A first space role there joins the organization once (an upsert: a member already
    # gets the declared org_role); applied, the next read infers membership from the space
    # role, so nothing is planned again.
    edit(again / FRAUD, lambda d: d["spaces"][0]["members"].append(
        {"email": "olga@acme.example", "role": "READ_ONLY"}))
    plan = await account.plan(again)
    assert [str(c.action) for c in plan.changes] == ["set-org-role", "set-space-role"]
    await account.apply(plan)
    assert (await account.plan(again)).changes == []
    assert (await account.plan(again)).changes == []
