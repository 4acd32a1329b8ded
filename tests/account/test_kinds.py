"""Each kind created, changed and removed, in both ownership modes: the plan, then the apply
(through the engine's own steps) and a re-plan that must be empty."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.planning.plan import SpecError
from tests.account.conftest import Account

FRAUD = "spaces/Acme/fraud-detection.yaml"
Edit = Callable[[dict[str, Any]], None]


def space(data: dict[str, Any]) -> dict[str, Any]:
    return data["spaces"][0]


def project(data: dict[str, Any], name: str = "fraud-model") -> dict[str, Any]:
    return next(p for p in space(data)["projects"] if p["name"] == name)


def member(data: dict[str, Any], email: str) -> dict[str, Any]:
    return next(m for m in space(data)["members"] if m["email"] == email)


# (case, file, kind made authoritative or None, edit, expected actions, destructive?)
CASES: list[tuple[str, str, str | None, Edit, list[str], bool]] = [
    ("role created", "roles.yaml", None,
     lambda d: d["roles"].append({"name": "Auditor", "permissions": ["PROJECT_READ"]}),
     ["create-role"], False),
    ("role widened", "roles.yaml", None,
     lambda d: d["roles"][0]["permissions"].append("DATASET_READ"), ["update-role"], False),
    ("role narrowed", "roles.yaml", None,
     lambda d: d["roles"][0]["permissions"].remove("MONITOR_READ"), ["update-role"], True),
    ("role removed, additive", "roles.yaml", None,
     lambda d: d["roles"].pop(1), [], False),
    ("role removed, authoritative", "roles.yaml", "roles",
     lambda d: d["roles"].pop(1), ["delete-role"], True),
    ("member added", FRAUD, None,
     lambda d: space(d)["members"].append({"email": "sam@acme.example", "role": "READ_ONLY"}),
     ["set-space-role"], False),
    ("member raised", FRAUD, None,
     lambda d: member(d, "dana@acme.example").update(role="ADMIN"), ["set-space-role"], False),
    ("member lowered", FRAUD, None,
     lambda d: member(d, "dana@acme.example").update(role="READ_ONLY"), ["set-space-role"], True),
    ("member given a custom role", FRAUD, None,
     lambda d: member(d, "dana@acme.example").update(role="Space Editor"),
     ["set-space-role"], True),
    ("member removed, additive", FRAUD, None,
     lambda d: space(d)["members"].pop(0), [], False),
    ("member removed, authoritative", FRAUD, "space_members",
     lambda d: space(d)["members"].pop(0), ["unbind-role"], True),
    ("project binding added", FRAUD, None,
     lambda d: project(d).setdefault("bindings", []).append(
         {"email": "dana@acme.example", "role": "Project Viewer"}),
     ["bind-role"], False),
    ("project binding changed", FRAUD, None,
     lambda d: project(d)["bindings"][0].update(role="Space Editor"), ["rebind-role"], True),
    ("project binding removed, additive", FRAUD, None,
     lambda d: project(d).pop("bindings"), [], False),
    ("project binding removed, authoritative", FRAUD, "project_bindings",
     lambda d: project(d).pop("bindings"), ["unbind-role"], True),
    ("project restricted", FRAUD, None,
     lambda d: project(d).update(restricted=True), ["restrict-project"], True),
    ("space created", FRAUD, None,
     lambda d: d["spaces"].append({"name": "risk", "organization": "Acme",
                                   "members": [{"email": "dana@acme.example", "role": "MEMBER"}]}),
     ["create-space", "set-space-role"], False),
    ("space described anew", FRAUD, None,
     lambda d: space(d).update(description="Fraud models and rules"), ["update-space"], False),
    ("person invited", "users.yaml", None,
     lambda d: d["users"].append({"email": "new.hire@acme.example", "name": "New Hire"}),
     ["invite-user"], False),
]


def authoritative(directory: Path, kind: str) -> None:
    path = directory / "account.yaml"
    data = yaml.safe_load(path.read_text())
    data["ownership"][kind] = "authoritative"
    path.write_text(yaml.safe_dump(data))


@pytest.mark.parametrize(
    ("file", "kind", "change", "actions", "destructive"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_each_kind_is_planned_applied_and_converges(
    account: Account, exported: Path, file: str, kind: str | None, change: Edit,
    actions: list[str], destructive: bool,
):
    if kind:
        authoritative(exported, kind)
    path = exported / file
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))

    plan = await account.plan(exported)

    assert sorted(str(c.action) for c in plan.changes) == sorted(actions)
    assert bool(plan.destructive) is destructive
    await account.apply(plan)
    assert (await account.plan(exported)).changes == [], "converged: nothing left to change"


async def test_a_restriction_is_lifted_only_when_restrictions_are_authoritative(
    account: Account, exported: Path
):
    model = await account.client.projects.find_by_name(
        "fraud-model", space_id=(await account.client.spaces.find_by_name("fraud-detection")).id
    )
    await account.client.resource_restrictions.restrict(model.id)

    assert (await account.plan(exported)).changes == [], "additive: a hand restriction stays"
    authoritative(exported, "restrictions")
    plan = await account.plan(exported)
    assert [(str(c.action), c.destructive) for c in plan.changes] == [("unrestrict-project", True)]
    await account.apply(plan)
    assert (await account.plan(exported)).changes == []


async def test_service_keys_are_created_and_revoked_only_when_authoritative(
    account: Account, exported: Path
):
    path = exported / FRAUD
    data = yaml.safe_load(path.read_text())
    data["spaces"][0]["service_keys"] = [{"name": "fraud-ci-2", "role": "READ_ONLY"}]
    path.write_text(yaml.safe_dump(data, sort_keys=False))

    plan = await account.plan(exported)
    assert [str(c.action) for c in plan.changes] == ["create-service-key"]
    created = plan.changes[0]
    assert (created.name, created.space_role, created.space) == (
        "fraud-ci-2", "READ_ONLY", "fraud-detection"
    )

    authoritative(exported, "service_keys")
    plan = await account.plan(exported)
    assert sorted((str(c.action), c.destructive) for c in plan.changes) == [
        ("create-service-key", False), ("revoke-key", True)
    ]
    assert next(c for c in plan.changes if c.action == "revoke-key").name == "ci-fraud-detection"


async def test_removing_someones_last_access_is_gated_and_never_deletes_them(
    account: Account, exported: Path
):
    authoritative(exported, "space_members")
    authoritative(exported, "project_bindings")
    for name in ("fraud-detection", "search-ranking"):
        path = exported / "spaces" / "Acme" / f"{name}.yaml"
        data = yaml.safe_load(path.read_text())
        data["spaces"][0]["members"] = [
            m for m in data["spaces"][0]["members"] if m["email"] != "lee.leaver@acme.example"
        ]
        for p in data["spaces"][0].get("projects", []):
            p.pop("bindings", None)
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    plan = await account.plan(exported)

    unbinds = [c for c in plan.changes if c.action == "unbind-role"]
    assert len(unbinds) == 3 and all(c.destructive for c in unbinds)
    assert sum("last access" in c.reason for c in unbinds) == 1
    assert not [c for c in plan.changes if c.action == "delete-user"]
    await account.apply(plan)
    assert await account.client.users.find_by_email("lee.leaver@acme.example") is not None


async def test_the_selector_scopes_the_files_to_some_spaces(account: Account, exported: Path):
    path = exported / "account.yaml"
    data = yaml.safe_load(path.read_text())
    data["selector"] = {"spaces": ["fraud-*"]}
    data["ownership"]["space_members"] = "authoritative"
    path.write_text(yaml.safe_dump(data))
    (exported / "spaces" / "Acme" / "ml-platform.yaml").unlink()

    with pytest.raises(SpecError) as refused:
        await account.plan(exported)
    assert refused.value.field == "spaces[1].name" and "selector" in refused.value.fix

    (exported / "spaces" / "Acme" / "search-ranking.yaml").unlink()
    plan = await account.plan(exported)
    assert plan.changes == [], "unselected spaces are left alone, even when authoritative"
    assert any(
        n.startswith("unmanaged spaces (2): Acme/ml-platform, Acme/search-ranking")
        for n in plan.notes
    )
