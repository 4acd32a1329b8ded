"""What happens to a newly issued key value: stored at once, then proven to authenticate.

The value exists only in the API response and in memory until it is stored, so every step
that creates, refreshes or replaces a key goes through here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from arize_admin import CreatedServiceApiKey, RefreshedApiKey
from core.keys import StoredKey
from tasks.steps.step import StepContext


async def store_issued_key(
    ctx: StepContext, name: str, space: str | None, issued: CreatedServiceApiKey | RefreshedApiKey
) -> StoredKey:
    """Write a key Arize just issued to the key store as ``name`` of ``space``; return it."""
    stored = StoredKey(
        value=issued.key,
        api_key_id=issued.id,
        rotated_at=datetime.now(UTC),
        expires_at=issued.expires_at,
    )
    await ctx.key_store.write_key(name, stored, space=space)
    return stored


async def prove_authenticates(ctx: StepContext, stored: StoredKey | None) -> int:
    """One authenticated read with the stored key; raises if Arize refuses it.

    Returns:
        The number of requests it took.
    """
    if stored is None:
        raise LookupError("no stored key to prove")
    async with ctx.credentials.get_client(api_key=stored.value) as probe:
        await probe.spaces.list(limit=1)
        return probe.request_count
