"""A service key's role or expiry, which Arize sets at creation only: a gated replacement.

The plan (in process) shows a replace-key (a new key with the declared role and expiry, its
secret to the key store) and the old key's revoke, both gated. End to end (real Prefect, the
emulator over HTTP): approved, the account then has one key of the name, as declared, whose
value the key store holds, and a re-plan is empty.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from arize_admin import ApiKeyType
from flows.account_as_code.commands import Output, render
from flows.account_as_code.export import export_account, write_account
from flows.account_as_code.flow import apply_account
from flows.account_as_code.loader import load_account
from flows.account_as_code.plan import plan_account
from tasks.reporting.report import RunStatus
from tests.account.conftest import Account, edit
from tests.fixtures.runbooks import admin_client, run_with_answer

FRAUD = "spaces/Acme/fraud-detection.yaml"
KEY = "ci-fraud-detection"


def declared_key(data: dict) -> dict:
    return next(k for k in data["spaces"][0]["service_keys"] if k["name"] == KEY)


async def test_a_keys_new_role_is_planned_as_a_gated_replacement(
    account: Account, exported: Path
):
    edit(exported / FRAUD, lambda d: declared_key(d).update(
        role="READ_ONLY", expires_at=(datetime.now(UTC) + timedelta(days=30)).isoformat()
    ))

    plan = await account.plan(exported)

    assert [(str(c.action), c.destructive) for c in plan.changes] == [
        ("replace-key", True), ("revoke-key", True)
    ]
    replace, revoke = plan.changes
    assert replace.reason.startswith("replacement: role MEMBER → READ_ONLY; expiry never → ")
    assert replace.lifetime_seconds == 30 * 86400
    roles = [s.role.name for o in replace.organizations for s in o.spaces]
    assert roles == ["READ_ONLY"]
    assert revoke.api_key_id == replace.api_key_id
    text = render(plan, Output.TEXT)
    assert f"! replace key {KEY} in fraud-detection (replacement: role MEMBER" in text
    assert plan.stages.index([replace]) < plan.stages.index([revoke])


async def test_a_new_expiry_alone_is_a_replacement_and_a_close_one_is_not(
    account: Account, exported: Path
):
    edit(exported / FRAUD, lambda d: declared_key(d).update(
        expires_at=(datetime.now(UTC) + timedelta(days=90)).isoformat()
    ))
    plan = await account.plan(exported)
    assert [str(c.action) for c in plan.changes] == ["replace-key", "revoke-key"]
    assert "expiry never → " in plan.changes[0].reason


async def test_a_key_without_an_expiry_is_not_replaced_here_and_the_plan_says_why(
    account: Account, exported: Path
):
    # The demo's key never expires; a replacement is created with an expiry, so declaring a
    # new role alone (no expiry) is left to a person, with a note and no change.
    edit(exported / FRAUD, lambda d: declared_key(d).update(role="ADMIN"))

    plan = await account.plan(exported)

    assert plan.changes == []
    assert any(f"service key {KEY} in fraud-detection: role MEMBER → ADMIN" in n
               and "without an expiry" in n for n in plan.notes)


@pytest.mark.slow
async def test_the_replacement_applies_stores_the_new_secret_and_converges(
    arize, runbook_policy, tmp_path: Path
):
    directory = tmp_path / "account"
    async with admin_client(arize) as client:
        write_account(await export_account(client), directory)
        old = [k async for k in client.api_keys.list(key_type=ApiKeyType.SERVICE)
               if k.name == KEY]
    edit(directory / FRAUD, lambda d: declared_key(d).update(
        role="READ_ONLY", expires_at=(datetime.now(UTC) + timedelta(days=30)).isoformat()
    ))
    spec = load_account(directory).spec

    outcome = await run_with_answer(apply_account(spec=spec), "apply-account", approved=True)

    assert outcome.status is RunStatus.COMPLETED
    assert outcome.applied == 2
    async with admin_client(arize) as client:
        keys = [k async for k in client.api_keys.list(key_type=ApiKeyType.SERVICE)
                if k.name == KEY]
        (new,) = keys
        assert new.id not in {k.id for k in old}
        roles = [s.role.name for o in new.bot_user.organizations for s in o.spaces]
        assert roles == ["READ_ONLY"]
        stored = await runbook_policy.key_store.read_key(
            KEY, "fraud-detection", api_key_ids=[new.id]
        )
        assert stored is not None and stored.api_key_id == new.id
        assert (await plan_account(client, spec)).changes == []
