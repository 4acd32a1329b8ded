"""The planner reads a loaded directory a space file at a time: the plan is the one the whole
spec gives, change for change, and so is the first problem it finds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from core.planning.plan import SpecError
from flows.account_as_code.format import KINDS
from flows.account_as_code.loader import AccountFilesError, load_account
from flows.account_as_code.plan import plan_account, plan_loaded
from tests.account.conftest import Account

FRAUD = "spaces/Acme/fraud-detection.yaml"


def edit(path: Path, change: Any) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def every_kind_edited(directory: Path) -> None:
    """Edits in four files and a new team file of top-level bindings, every kind owned."""
    edit(directory / "account.yaml",
         lambda d: d["ownership"].update(dict.fromkeys(KINDS, "authoritative")))
    edit(directory / "roles.yaml", lambda d: (
        d["roles"].append({"name": "Auditor", "permissions": ["PROJECT_READ"]}),
        d["roles"][0]["permissions"].append("DATASET_READ"),
    ))
    edit(directory / "users.yaml",
         lambda d: d["users"].append({"email": "new.hire@acme.example", "name": "New Hire"}))

    def fraud(d: dict[str, Any]) -> None:
        space = d["spaces"][0]
        space["description"] = "Fraud models and rules"
        space["members"].pop(0)
        space["members"].append({"email": "sam@acme.example", "role": "Auditor"})
        space["projects"][0]["restricted"] = True
        space["projects"][0]["bindings"] = [{"email": "dana@acme.example", "role": "READ_ONLY"}]
        space["service_keys"] = []
        d["spaces"].append({"name": "risk", "organization": "Acme",
                            "members": [{"email": "new.hire@acme.example", "role": "MEMBER"}]})

    edit(directory / FRAUD, fraud)
    (directory / "team.yaml").write_text(yaml.safe_dump({"bindings": [
        {"email": "new.hire@acme.example", "role": "READ_ONLY", "space": "fraud-detection"},
        {"email": "sam@acme.example", "role": "ADMIN", "space": "risk"},
    ]}))


async def test_a_plan_read_a_space_at_a_time_is_the_plan_of_the_whole_spec(
    account: Account, exported: Path
):
    every_kind_edited(exported)
    loaded = load_account(exported)

    streamed = await plan_loaded(account.client, loaded)
    assert "spec" not in vars(loaded), "the planner never joined the files into one spec"
    whole = await plan_account(account.client, load_account(exported).spec)

    assert [c.model_dump(mode="json") for c in streamed.changes] == [
        c.model_dump(mode="json") for c in whole.changes
    ]
    assert streamed.hash == whole.hash
    assert streamed.notes == whole.notes
    actions = {str(c.action) for c in streamed.changes}
    assert {"create-role", "update-role", "invite-user", "create-space", "update-space",
            "set-space-role", "unbind-role", "restrict-project", "revoke-key"} <= actions


def unknown_person(directory: Path) -> None:
    edit(directory / FRAUD, lambda d: d["spaces"][0]["members"].append(
        {"email": "nobody@acme.example", "role": "MEMBER"}))


def binding_on_unknown_space(directory: Path) -> None:
    (directory / "team.yaml").write_text(yaml.safe_dump({"bindings": [
        {"email": "dana@acme.example", "role": "MEMBER", "space": "no-such-space"},
    ]}))


def two_roles_for_one_person(directory: Path) -> None:
    member = yaml.safe_load((directory / FRAUD).read_text())["spaces"][0]["members"][0]
    (directory / "team.yaml").write_text(yaml.safe_dump({"bindings": [
        {"email": member["email"], "role": "ANNOTATOR", "space": "fraud-detection"},
    ]}))


@pytest.mark.parametrize(
    "break_it", [unknown_person, binding_on_unknown_space, two_roles_for_one_person]
)
async def test_a_streamed_plan_refuses_what_the_whole_spec_refuses(
    account: Account, exported: Path, break_it: Any
):
    break_it(exported)
    loaded = load_account(exported)

    with pytest.raises(SpecError) as streamed_refusal:
        await plan_loaded(account.client, loaded)
    with pytest.raises(SpecError) as whole_refusal:
        await plan_account(account.client, load_account(exported).spec)

    streamed, whole = streamed_refusal.value, whole_refusal.value
    assert (streamed.field, streamed.value, streamed.fix) == (whole.field, whole.value, whole.fix)


async def test_a_space_file_broken_between_the_check_and_the_plan_is_named_and_nothing_planned(
    account: Account, exported: Path
):
    loaded = load_account(exported)
    (exported / FRAUD).write_text("spaces:\n  - name: [unclosed\n")

    with pytest.raises(AccountFilesError) as refused:
        await plan_loaded(account.client, loaded)

    (problem,) = refused.value.problems
    assert problem.where == FRAUD
    assert "changed after it was checked" in problem.what
