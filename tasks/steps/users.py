"""Steps on users: invite (create), delete."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import task

from arize_admin import ConflictError, PredefinedRole
from core.keys import StoredKey
from core.planning.changes import DeleteUser, InviteUser
from tasks.retry import STEP_OPTIONS
from tasks.steps.step import Outcome, StepContext, StepResult, remove_if_present


@task(name="Ensure user", task_run_name="ensure user {change.target}", **STEP_OPTIONS)
async def ensure_user(ctx: StepContext, change: InviteUser) -> StepResult:
    """Invite the user unless an account user with that email exists; existing users are reused.

    A temporary password, when the invite mode issues one, goes to the key store only.

    Example:
        ```python
        change = InviteUser(target="dana@acme.example", name="Dana",
                            email="dana@acme.example", account_role="MEMBER",
                            invite_mode=InviteMode.EMAIL_LINK)
        await ensure_user(ctx, change)
        ```
    """
    email = change.email
    async with ctx.credentials.get_client() as client:
        # The plan saw no user with this email, and POST /v2/users is idempotent on the email
        # (a pending invitation comes back as-is, an active user is a 409), so create first:
        # one call per invite instead of a lookup before each.
        try:
            created = await client.users.create(
                name=change.name,
                email=email,
                role=PredefinedRole(name=change.account_role),
                invite_mode=change.invite_mode,
            )
            user = created
            outcome = Outcome.APPLIED if created.newly_created else Outcome.ALREADY
        except ConflictError:
            found = await client.users.find_by_email(email)
            if found is None:
                raise
            user, outcome = found, Outcome.ALREADY
        calls = client.request_count
    password = getattr(user, "temporary_password", None)
    if password is not None:
        await ctx.key_store.write_key(
            f"initial-password-{email}",
            StoredKey(value=password, api_key_id=None, rotated_at=datetime.now(UTC)),
        )
    return StepResult(
        change_key=change.key, outcome=outcome, refs={f"user:{email}": user.id}, api_calls=calls
    )


@task(name="Delete user", task_run_name="delete user {change.target}", **STEP_OPTIONS)
async def delete_user(ctx: StepContext, change: DeleteUser) -> StepResult:
    """Delete (block) the user; Arize cascades to memberships, bindings and their own keys.

    Example:
        ```python
        await delete_user(ctx, DeleteUser(target="lee@acme.example", user_id="VXNlcj...",
                                          email="lee@acme.example", destructive=True))
        ```
    """
    async with ctx.credentials.get_client() as client:
        outcome = await remove_if_present(lambda: client.users.delete(change.user_id))
        calls = client.request_count
    return StepResult(change_key=change.key, outcome=outcome, api_calls=calls)
