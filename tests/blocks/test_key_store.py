"""The key store names each secret by space and key, and moves legacy secrets without loss."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from prefect.blocks.system import Secret

from arize_admin import (
    AsyncArizeAdmin,
    AuthenticationError,
    ServiceKeyOrgAssignment,
    ServiceKeySpaceAssignment,
)
from blocks.key_store import ArizeKeyStore
from core.keys import StoredKey
from flows.rotate_service_keys.flow import rotate_service_keys
from flows.rotate_service_keys.spec import RotateServiceKeysSpec
from tasks.reporting.report import RunStatus
from tests.fixtures.runbooks import admin_client

TENANTS = ("fraud-detection", "search-ranking")


def test_names_keep_tenants_and_accounts_apart():
    store = ArizeKeyStore(prefix="Acme Keys")

    assert store.secret_name("ci", "fraud-detection") == "acme-keys-fraud-detection--ci"
    assert store.secret_name("ci", "fraud-detection") != store.secret_name("ci", "search")
    # "--" separates space from key only: dashes inside a part collapse, so no pair collides.
    assert store.secret_name("c", "a--b") != store.secret_name("b--c", "a")
    assert store.secret_name("initial-password-x") == store.legacy_name("initial-password-x")


async def _service_key(arize, space_name: str, name: str):
    async with admin_client(arize) as admin:
        org = await admin.organizations.find_by_name("Acme")
        space = await admin.spaces.find_by_name(space_name, org_id=org.id)
        return await admin.api_keys.create_service_key(
            name=name,
            organizations=[
                ServiceKeyOrgAssignment(
                    org_id=org.id, spaces=[ServiceKeySpaceAssignment(space_id=space.id)]
                )
            ],
        )


async def _authenticates(arize, stored: StoredKey) -> bool:
    async with AsyncArizeAdmin(api_key=stored.value, base_url=arize.base_url) as client:
        try:
            await client.spaces.list(limit=1)
        except AuthenticationError:
            return False
    return True


@pytest.mark.slow
async def test_two_tenants_rotate_keys_of_one_name_at_once_and_a_legacy_secret_moves(
    arize, runbook_policy
):
    store = runbook_policy.key_store
    long_ago = datetime.now(UTC) - timedelta(days=200)
    keys = {space: await _service_key(arize, space, "ci") for space in TENANTS}
    # Tenant one's value sits under the legacy name (a store written before names had spaces);
    # tenant two's already under its own name.
    legacy = StoredKey(value=keys[TENANTS[0]].key, api_key_id=keys[TENANTS[0]].id,
                       rotated_at=long_ago)
    await store.write_key("ci", legacy)
    await store.write_key(
        "ci",
        StoredKey(value=keys[TENANTS[1]].key, api_key_id=keys[TENANTS[1]].id, rotated_at=long_ago),
        space=TENANTS[1],
    )
    # Read-only fallback: the legacy value is offered for its own key, never the other tenant's.
    assert await store.read_key("ci", TENANTS[0], api_key_ids=[keys[TENANTS[0]].id]) == legacy
    assert await store.read_key("ci", TENANTS[1], api_key_ids=[keys[TENANTS[0]].id]) is not None
    assert await store.read_key("ci", "ml-platform", api_key_ids=[keys[TENANTS[1]].id]) is None

    outcomes = await asyncio.gather(
        *(
            rotate_service_keys(
                spec=RotateServiceKeysSpec(name_pattern="ci", space=space, max_age_days=30)
            )
            for space in TENANTS
        )
    )

    assert [o.status for o in outcomes] == [RunStatus.COMPLETED, RunStatus.COMPLETED]
    assert [o.applied for o in outcomes] == [1, 1]
    values = set()
    for space in TENANTS:
        stored = await store.read_key("ci", space)
        assert stored is not None and stored.api_key_id == keys[space].id
        assert stored.rotated_at > long_ago
        assert await _authenticates(arize, stored)
        values.add(stored.value.get_secret_value())
    assert len(values) == 2
    # Moved, not lost: the newer value is under the new name, so the legacy secret is gone.
    with pytest.raises(ValueError):
        await Secret.aload(store.legacy_name("ci"))
