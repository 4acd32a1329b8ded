"""Every planner, called the one way, in process against the emulator app: no Prefect, no port.

The key store is the ``KeyReader`` port here, an in-memory one, so the planners that read it run
in process too (through the Prefect block they need a Prefect API).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from pydantic import SecretStr

from arize_admin import AsyncArizeAdmin, ServiceKeyOrgAssignment, ServiceKeySpaceAssignment
from core.keys import KeyReader, StoredKey
from core.planning.changes import CreateServiceKey
from core.planning.context import PlanContext
from core.planning.plan import Plan
from flows.registry import REGISTRY, Runbook, get
from tests.core.conftest import InProcessArize


class MemoryKeys:
    """A key store in a dict, that notes every read: the ``KeyReader`` port without Prefect."""

    def __init__(self, stored: dict[tuple[str | None, str], StoredKey] | None = None) -> None:
        self.stored = stored or {}
        self.reads: list[tuple[str | None, str]] = []

    def secret_name(self, key_name: str, space: str | None = None) -> str:
        return f"memory-{space or 'account'}--{key_name}"

    async def read_key(
        self, key_name: str, space: str | None = None, api_key_ids: Iterable[str] = ()
    ) -> StoredKey | None:
        self.reads.append((space, key_name))
        return self.stored.get((space, key_name))


def _plan_of(result: Any) -> Plan:
    """The plan itself, for planners that return it with extras attached."""
    return getattr(result, "plan", result)


def test_the_memory_store_is_a_key_reader():
    reader: KeyReader = MemoryKeys()  # a type checker holds it to the port
    assert reader.secret_name("ci", "fraud") == "memory-fraud--ci"


@pytest.mark.parametrize("runbook", REGISTRY, ids=lambda r: r.name)
async def test_every_planner_changes_nothing_and_hashes_the_same_twice(
    arize_app: InProcessArize, client: AsyncArizeAdmin, runbook: Runbook
):
    context = PlanContext(keys=MemoryKeys())
    before = await arize_app.mutations()

    first = _plan_of(await runbook.planner(client, runbook.example(), context))
    second = _plan_of(await runbook.planner(client, runbook.example(), context))

    assert await arize_app.mutations() == before
    assert first.hash == second.hash
    assert first.runbook == runbook.name
    # Each plan counts only its own requests, though both ran on one client.
    assert 0 < first.api_calls == second.api_calls < client.request_count
    assert {str(c.action) for c in first.destructive} <= runbook.destructive


async def test_a_planner_that_reads_the_key_store_says_how_to_give_it_one(client):
    with pytest.raises(ValueError, match=r"rotate-service-keys.*PlanContext\(keys=\.\.\.\)"):
        await get("rotate-service-keys").planner(client, get("rotate-service-keys").example())


async def test_rotation_reads_each_selected_key_through_the_port(client):
    runbook = get("rotate-service-keys")
    keys = MemoryKeys()

    plan = await runbook.planner(client, runbook.example(), PlanContext(keys=keys))

    selected = {row.name for row in plan.key_rows}
    assert selected, "the demo account has service keys the example selects"
    assert {name for _, name in keys.reads} == selected


async def test_a_stored_value_of_an_existing_service_key_is_found_through_the_port(client):
    runbook = get("onboard-team")
    spec = runbook.example()
    assert spec.service_key is not None
    first_store = MemoryKeys()
    first = await runbook.planner(client, spec, PlanContext(keys=first_store))
    assert [c.target for c in first.changes if isinstance(c, CreateServiceKey)] == [
        spec.service_key.name
    ]
    assert first_store.reads == []  # no key yet: nothing to look up

    org = await client.organizations.find_by_name(spec.organization)
    space = await client.spaces.create(name=spec.space, organization_id=org.id)
    created = await client.api_keys.create_service_key(
        name=spec.service_key.name,
        organizations=[
            ServiceKeyOrgAssignment(
                org_id=org.id, spaces=[ServiceKeySpaceAssignment(space_id=space.id)]
            )
        ],
    )
    missing = await runbook.planner(client, spec, PlanContext(keys=MemoryKeys()))
    value = StoredKey(value=SecretStr("not-a-real-key"), api_key_id=created.id)
    stored = MemoryKeys({(spec.space, spec.service_key.name): value})
    found = await runbook.planner(client, spec, PlanContext(keys=stored))

    assert f"service key {spec.service_key.name}" in missing.in_place
    assert any("not in the key store" in note for note in missing.notes)
    assert not any("not in the key store" in note for note in found.notes)
    assert stored.reads == [(spec.space, spec.service_key.name)]


async def test_saml_flags_a_group_whose_role_id_changed_since_the_last_mapping(client):
    runbook = get("saml-role-mapping")
    spec = runbook.example(identity_provider=None, rules=[])  # the rules' notes name groups too
    group = spec.mappings[0].group

    same = await runbook.planner(client, spec, PlanContext())
    moved = await runbook.planner(client, spec, PlanContext(last_mapping={group: "role-old"}))

    assert not any(group in note for note in same.notes)
    assert any(group in note and "role-old" in note for note in moved.notes)
