"""The group → role-id mapping is remembered whatever its size, and older Variables are read."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from prefect.blocks.system import Secret
from prefect.variables import Variable

from flows.saml_role_mapping.mapping import load_last_mapping, remember_mapping


@pytest.fixture
async def store(prefect_harness) -> str:
    name = f"saml-store-{uuid.uuid4().hex[:8]}"
    yield name
    with contextlib.suppress(ValueError):
        await Secret.adelete(name)
    await Variable.aunset(name)


async def test_500_groups_are_remembered_whole(store):
    # Realistic lengths: ~40-character group names, role ids as Arize issues them (~28 chars).
    mapping = {
        f"okta-arize-team-{n:03d}-project-viewers-eu": f"Um9sZToxMjM0NTo{n:05d}YWJjZA=="
        for n in range(500)
    }
    assert sum(len(k) + len(v) for k, v in mapping.items()) > 5000 * 6  # a Variable holds 5000

    await remember_mapping(store, mapping)

    assert await load_last_mapping.fn(store) == mapping


async def test_nothing_remembered_reads_as_empty(store):
    assert await load_last_mapping.fn(store) == {}


async def test_a_mapping_an_earlier_version_kept_in_a_variable_is_still_read(store):
    await Variable.aset(store, {"arize-viewers": "Um9sZTox"})

    assert await load_last_mapping.fn(store) == {"arize-viewers": "Um9sZTox"}

    await remember_mapping(store, {"arize-viewers": "Um9sZToy"})
    assert await load_last_mapping.fn(store) == {"arize-viewers": "Um9sZToy"}
