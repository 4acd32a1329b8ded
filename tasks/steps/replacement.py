"""Step: replace a service key that a refresh cannot save, because it expires too soon.

A refresh keeps the key's expiry (extending → 422, "use create instead").
So the replacement is a new key with the old one's name, description, account, org and space
roles (from its bot user), plus copies of the old bot user's role bindings. Its value goes to
the same secret the old key's did; the old key keeps working until its own expiry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect import task

from arize_admin import (
    ApiKeyType,
    AsyncArizeAdmin,
    ConflictError,
    PredefinedRole,
    RoleBindingResourceType,
    ServiceApiKey,
)
from core.planning.changes import ReplaceKey
from tasks.retry import STEP_OPTIONS
from tasks.steps.key_values import prove_authenticates, store_issued_key
from tasks.steps.step import Outcome, StepContext, StepResult


@task(name="Replace key", task_run_name="replace key {change.target}", **STEP_OPTIONS)
async def replace_key(ctx: StepContext, change: ReplaceKey) -> StepResult:
    """Create the replacement unless it exists; store its value; copy bindings; prove it works.

    Idempotent across retries and crashes: a newer active key of the same name is the
    replacement of an earlier attempt. If the store holds its value, nothing is created; if
    not (the create's response was lost, or the run died before storing), it is refreshed with
    no grace period to obtain a value nobody else can hold, and that is stored.

    Example:
        ```python
        change = ReplaceKey(target="etl-search-ranking", api_key_id="QXBpS2V5...",
                            name="etl-search-ranking", created_at=old_key.created_at,
                            bot_user_id="VXNlcj...", organizations=[...],
                            lifetime_seconds=1296000)
        await replace_key(ctx, change)
        ```
    """
    name = change.name
    async with ctx.credentials.get_client() as client:
        replacement = await _find_replacement(client, change)
        stored = await ctx.key_store.read_key(
            name, change.space, api_key_ids=[k.id for k in (replacement,) if k is not None]
        )
        if replacement is not None and stored is not None and stored.api_key_id == replacement.id:
            outcome = Outcome.ALREADY
        elif replacement is not None:
            refreshed = await client.api_keys.refresh(
                replacement.id, expires_at=replacement.expires_at, grace_period_seconds=0
            )
            stored = await store_issued_key(ctx, name, change.space, refreshed)
            outcome = Outcome.APPLIED
        else:
            replacement = await client.api_keys.create_service_key(
                name=name,
                description=change.description or None,
                expires_at=datetime.now(UTC) + timedelta(seconds=change.lifetime_seconds),
                account_role=PredefinedRole(name=change.account_role),
                organizations=change.organizations,
            )
            stored = await store_issued_key(ctx, name, change.space, replacement)
            outcome = Outcome.APPLIED
        copied = await _copy_bindings(client, change.bot_user_id, replacement.bot_user.id)
        calls = client.request_count
    calls += await prove_authenticates(ctx, stored)
    return StepResult(
        change_key=change.key,
        outcome=outcome if not copied else Outcome.APPLIED,
        detail=(
            f"new key expires {replacement.expires_at:%Y-%m-%d}; stored as secret "
            f"{ctx.key_store.secret_name(name, change.space)}; authenticates; {copied} "
            "binding(s) copied; the old key lapses at its expiry"
        ),
        refs={f"key:{name}": replacement.id},
        api_calls=calls,
    )


async def _find_replacement(client: AsyncArizeAdmin, change: ReplaceKey) -> ServiceApiKey | None:
    """The newest active, unexpired key of the name created after the key being replaced."""
    now = datetime.now(UTC)
    found = [
        k
        async for k in client.api_keys.list(key_type=ApiKeyType.SERVICE)
        if k.name == change.name
        and k.id != change.api_key_id
        and k.created_at > change.created_at
        and (k.expires_at is None or k.expires_at > now)
    ]
    return max(found, key=lambda k: k.created_at) if found else None


async def _copy_bindings(client: AsyncArizeAdmin, old_bot: str, new_bot: str) -> int:
    """Give the new bot user every role binding the old one has; return how many were added."""
    copied = 0
    for resource_type in (RoleBindingResourceType.SPACE, RoleBindingResourceType.PROJECT):
        have = {
            b.resource_id
            async for b in client.role_bindings.list(resource_type=resource_type, user_id=new_bot)
        }
        async for binding in client.role_bindings.list(
            resource_type=resource_type, user_id=old_bot
        ):
            if binding.resource_id in have:
                continue
            try:
                await client.role_bindings.create(
                    user_id=new_bot,
                    role_id=binding.role_id,
                    resource_type=resource_type,
                    resource_id=binding.resource_id,
                )
            except ConflictError:
                continue  # an earlier attempt's create whose response was lost
            copied += 1
    return copied
