"""Steps on API keys: create a service key (value to the key store only), revoke a key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect import task

from arize_admin import (
    ApiKeyType,
    PredefinedRole,
    ServiceKeyOrgAssignment,
    ServiceKeySpaceAssignment,
)
from core.planning.changes import CreateServiceKey, RevokeKey
from tasks.retry import STEP_OPTIONS
from tasks.steps.key_values import store_issued_key
from tasks.steps.step import Outcome, StepContext, StepResult, find_or_create


@task(name="Ensure service key", task_run_name="ensure service key {change.target}", **STEP_OPTIONS)
async def ensure_service_key(ctx: StepContext, change: CreateServiceKey) -> StepResult:
    """Create the service key unless an active one of that name exists in the space.

    The new value goes straight to the key store. If the key exists but its value never reached
    the store (the create's response was lost), the key is refreshed with no grace period to
    obtain a value nobody else can hold yet.

    Example:
        ```python
        change = CreateServiceKey(target="ci-ml-platform", name="ci-ml-platform",
                                  org_id="T3Jn...", space="ml-platform", space_role="MEMBER")
        await ensure_service_key(ctx, change)
        ```
    """
    name = change.name
    space_id = change.space_id or ctx.ref("space", change.space)
    if space_id is None:
        raise LookupError(f"space {change.space!r} was not created by an earlier stage")
    expires_at = (
        datetime.now(UTC) + timedelta(days=change.expires_in_days)
        if change.expires_in_days
        else None
    )
    async with ctx.credentials.get_client() as client:

        async def find() -> object | None:
            async for key in client.api_keys.list(space_id=space_id, key_type=ApiKeyType.SERVICE):
                if key.name == name:
                    return key
            return None

        async def create() -> object:
            created = await client.api_keys.create_service_key(
                name=name,
                description=change.description or None,
                expires_at=expires_at,
                organizations=[
                    ServiceKeyOrgAssignment(
                        org_id=change.org_id,
                        spaces=[
                            ServiceKeySpaceAssignment(
                                space_id=space_id,
                                role=PredefinedRole(name=change.space_role),
                            )
                        ],
                    )
                ],
            )
            await store_issued_key(ctx, name, change.space, created)
            return created

        key, outcome = await find_or_create(find, create)
        # A key that was already there may be one whose create answer was lost: no value.
        stored = (
            await ctx.key_store.read_key(name, change.space, api_key_ids=[key.id])
            if outcome is Outcome.ALREADY
            else None
        )
        if outcome is Outcome.ALREADY and (stored is None or stored.api_key_id != key.id):
            refreshed = await client.api_keys.refresh(
                key.id, expires_at=key.expires_at, grace_period_seconds=0
            )
            await store_issued_key(ctx, name, change.space, refreshed)
            outcome = Outcome.APPLIED
        calls = client.request_count
    return StepResult(
        change_key=change.key,
        outcome=outcome,
        refs={f"key:{name}": key.id},
        detail=f"value stored as secret {ctx.key_store.secret_name(name, change.space)}",
        api_calls=calls,
    )


@task(name="Revoke key", task_run_name="revoke key {change.target}", **STEP_OPTIONS)
async def revoke_key(ctx: StepContext, change: RevokeKey) -> StepResult:
    """Revoke an API key; Arize answers 204 for a key already revoked.

    Example:
        ```python
        await revoke_key(ctx, RevokeKey(target="lee's laptop key", api_key_id="QXBpS2V5...",
                                        name="laptop", key_type="USER", destructive=True))
        ```
    """
    async with ctx.credentials.get_client() as client:
        await client.api_keys.revoke(change.api_key_id)
        calls = client.request_count
    return StepResult(change_key=change.key, outcome=Outcome.APPLIED, api_calls=calls)
