"""The flows end to end: real emulator over HTTP, real Prefect (test harness).

apply-account takes the files through the engine's gate; detect-drift reports a drift once
while it is unchanged, and says nothing after it is reverted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from arize_admin import PredefinedRole
from flows.account_as_code.drift import DriftSource
from flows.account_as_code.export import export_account, write_account
from flows.account_as_code.flow import apply_account, detect_drift
from flows.account_as_code.loader import load_account
from tasks.reporting.report import RunStatus
from tests.fixtures.runbooks import admin_client, mutation_count, run_with_answer

pytestmark = pytest.mark.slow

FRAUD = "spaces/Acme/fraud-detection.yaml"


async def export_to(arize, directory: Path) -> Path:
    async with admin_client(arize) as client:
        write_account(await export_account(client), directory)
    data = yaml.safe_load((directory / "account.yaml").read_text())
    data["ownership"]["space_members"] = "authoritative"
    (directory / "account.yaml").write_text(yaml.safe_dump(data))
    return directory


async def test_apply_account_gates_a_removal_and_never_deletes_the_person(
    arize, runbook_policy, tmp_path: Path
):
    directory = await export_to(arize, tmp_path / "account")
    path = directory / FRAUD
    data = yaml.safe_load(path.read_text())
    data["spaces"][0]["members"] = [
        m for m in data["spaces"][0]["members"] if m["email"] != "dana@acme.example"
    ]
    data["spaces"][0]["members"].append({"email": "sam@acme.example", "role": "READ_ONLY"})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    spec = load_account(directory).spec

    outcome = await run_with_answer(
        apply_account(spec=spec), "apply-account", approved=True
    )

    assert outcome.status is RunStatus.COMPLETED
    async with admin_client(arize) as client:
        assert await client.users.find_by_email("dana@acme.example") is not None
    before = mutation_count(arize)
    again = await apply_account(spec=spec)
    assert again.status is RunStatus.NO_CHANGES
    assert mutation_count(arize) == before


async def test_detect_drift_reports_once_while_unchanged_then_not_after_revert(
    arize, runbook_policy, tmp_path: Path
):
    directory = await export_to(arize, tmp_path / "account")
    source = DriftSource(path=str(directory))
    name = tmp_path.name  # a variable of this test's own
    assert not (await detect_drift(source=source, name=name)).drift

    async with admin_client(arize) as client:
        fraud = await client.spaces.find_by_name("fraud-detection")
        sam = await client.users.find_by_email("sam@acme.example")
        await client.spaces.add_user(fraud.id, user_id=sam.id, role=PredefinedRole(name="ADMIN"))

    first = await detect_drift(source=source, name=name)
    assert first.drift and first.reported
    assert any("sam@acme.example" in c for c in first.changes)
    assert "sam@acme.example" in first.adopt_patch
    second = await detect_drift(source=source, name=name)
    assert second.drift and not second.reported, "the same drift is not reported twice"

    revert = await run_with_answer(
        apply_account(spec=load_account(directory).spec), "apply-account", approved=True
    )
    assert revert.status is RunStatus.COMPLETED
    after = await detect_drift(source=source, name=name)
    assert not after.drift
