"""A key just issued is proven through the same client factory as every other call."""

from __future__ import annotations

import pytest

from arize_admin import AuthenticationError
from blocks.arize import ArizeCredentials
from blocks.key_store import ArizeKeyStore
from core.keys import StoredKey
from tasks.steps.key_values import prove_authenticates
from tasks.steps.step import StepContext
from tests.fixtures.runbooks import admin_client


def _context(arize, **credentials) -> StepContext:
    return StepContext(
        credentials=ArizeCredentials(api_key=arize.admin_key, **credentials),
        key_store=ArizeKeyStore(prefix="unused"),
    )


async def test_a_block_with_both_base_url_and_region_proves_a_new_key(arize):
    # A block may carry a region and, for a proxy or the emulator, a base URL: the URL wins.
    ctx = _context(arize, base_url=arize.base_url, region="us-east-1b")
    async with admin_client(arize) as admin:
        key = await admin.api_keys.create_user_key(name="probe")
    stored = StoredKey(value=key.key, api_key_id=key.id)

    assert await prove_authenticates(ctx, stored) == 1

    async with admin_client(arize) as admin:
        await admin.api_keys.revoke(key.id)
    with pytest.raises(AuthenticationError):
        await prove_authenticates(ctx, stored)


async def test_nothing_stored_is_refused(arize):
    with pytest.raises(LookupError):
        await prove_authenticates(_context(arize, base_url=arize.base_url), None)
