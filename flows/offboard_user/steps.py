"""The idempotent step of offboard-user's own change, registered with the shared apply."""

from __future__ import annotations

from prefect import task

from flows.offboard_user.suspend import LeaveOrganization
from tasks.retry import STEP_OPTIONS
from tasks.steps.apply import add_step
from tasks.steps.step import StepContext, StepResult, remove_if_present


@task(name="Leave organization", task_run_name="leave {change.target}", **STEP_OPTIONS)
async def leave_organization(ctx: StepContext, change: LeaveOrganization) -> StepResult:
    """Take the user out of the organization (and its spaces); not a member counts as done.

    Example:
        ```python
        await leave_organization(ctx, LeaveOrganization(
            target="lee@acme.example in Acme", org_id="T3Jn...", user_id="VXNlcj...",
            destructive=True))
        ```
    """
    async with ctx.credentials.get_client() as client:
        outcome = await remove_if_present(
            lambda: client.organizations.remove_user(change.org_id, user_id=change.user_id)
        )
        calls = client.request_count
    return StepResult(change_key=change.key, outcome=outcome, api_calls=calls)


add_step(LeaveOrganization, leave_organization)
