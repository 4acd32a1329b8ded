"""Step: rotate a service key's secret, store the new one, prove it authenticates."""

from __future__ import annotations

from datetime import datetime

from prefect import task

from core.keys import StoredKey
from core.planning.changes import RotateKey
from tasks.retry import STEP_OPTIONS
from tasks.steps.key_values import prove_authenticates, store_issued_key
from tasks.steps.step import Outcome, StepContext, StepResult


@task(name="Rotate key", task_run_name="rotate key {change.target}", **STEP_OPTIONS)
async def rotate_key(ctx: StepContext, change: RotateKey) -> StepResult:
    """Refresh the key with a grace period, store the new value, then authenticate with it.

    Order matters for consumers: the old secret stays valid for the grace period while the new
    one is written to the store, so whoever reads the store always gets a working key. A retry
    after the store was written finds the newer ``rotated_at`` and does not rotate twice.

    Example:
        ```python
        change = RotateKey(target="ci-fraud-detection", api_key_id="QXBpS2V5...",
                           name="ci-fraud-detection", grace_period_seconds=3600)
        await rotate_key(ctx, change)
        ```
    """
    name = change.name
    stored = await ctx.key_store.read_key(name, change.space, api_key_ids=[change.api_key_id])
    if _rotated_since(stored, change.api_key_id, change.stored_rotated_at):
        outcome, calls = Outcome.ALREADY, 0
    else:
        async with ctx.credentials.get_client() as client:
            refreshed = await client.api_keys.refresh(
                change.api_key_id,
                expires_at=change.expires_at,
                grace_period_seconds=change.grace_period_seconds,
            )
            calls = client.request_count
        stored = await store_issued_key(ctx, name, change.space, refreshed)
        outcome = Outcome.APPLIED
    calls += await prove_authenticates(ctx, stored)
    return StepResult(
        change_key=change.key,
        outcome=outcome,
        detail=f"stored as secret {ctx.key_store.secret_name(name, change.space)}; authenticates",
        api_calls=calls,
    )


def _rotated_since(
    stored: StoredKey | None, api_key_id: str, planned_at: datetime | None
) -> bool:
    if stored is None or stored.api_key_id != api_key_id or stored.rotated_at is None:
        return False
    return planned_at is None or stored.rotated_at > planned_at
