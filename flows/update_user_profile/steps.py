"""The idempotent step of update-user-profile's change, registered with the shared apply."""

from __future__ import annotations

from prefect import task

from arize_admin import NotFoundError
from flows.update_user_profile.changes import RenameUser
from tasks.retry import STEP_OPTIONS
from tasks.steps.apply import add_step
from tasks.steps.step import Outcome, StepContext, StepResult


@task(name="Rename user", task_run_name="rename {change.target}", **STEP_OPTIONS)
async def rename_user(ctx: StepContext, change: RenameUser) -> StepResult:
    """Set the display name, unless it is already the planned one (a retried attempt).

    Example:
        ```python
        await rename_user(ctx, RenameUser(target="ada@acme.example", user_id="VXNlcj...",
                                          email="ada@acme.example", name="Ada King"))
        ```
    """
    async with ctx.credentials.get_client() as client:
        try:
            user = await client.users.get(change.user_id)
        except NotFoundError:
            raise LookupError(f"user {change.email} was removed since the plan") from None
        outcome = Outcome.ALREADY
        if user.name != change.name:
            await client.users.update(change.user_id, name=change.name)
            outcome = Outcome.APPLIED
        calls = client.request_count
    return StepResult(change_key=change.key, outcome=outcome, api_calls=calls)


add_step(RenameUser, rename_user)
