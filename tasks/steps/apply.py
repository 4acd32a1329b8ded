"""Apply a plan: stage by stage, the changes of a stage concurrently, each through its step."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import get_run_logger
from prefect.concurrency.asyncio import rate_limit

from tasks.planning.plan import Action, Change, Plan
from tasks.steps import progress
from tasks.steps.bindings import bind_role, rebind_role, unbind_role
from tasks.steps.keys import ensure_service_key, revoke_key
from tasks.steps.memberships import set_org_role, set_space_role
from tasks.steps.replacement import replace_key
from tasks.steps.restrictions import restrict_project
from tasks.steps.roles import delete_role, ensure_role, update_role
from tasks.steps.rotation import rotate_key
from tasks.steps.spaces import ensure_space
from tasks.steps.step import StepContext, StepResult
from tasks.steps.users import delete_user, ensure_user

STEPS: dict[Action, Any] = {
    Action.CREATE_SPACE: ensure_space,
    Action.CREATE_ROLE: ensure_role,
    Action.UPDATE_ROLE: update_role,
    Action.DELETE_ROLE: delete_role,
    Action.INVITE_USER: ensure_user,
    Action.SET_ORG_ROLE: set_org_role,
    Action.SET_SPACE_ROLE: set_space_role,
    Action.BIND_ROLE: bind_role,
    Action.REBIND_ROLE: rebind_role,
    Action.UNBIND_ROLE: unbind_role,
    Action.RESTRICT_PROJECT: restrict_project,
    Action.CREATE_SERVICE_KEY: ensure_service_key,
    Action.REVOKE_KEY: revoke_key,
    Action.ROTATE_KEY: rotate_key,
    Action.REPLACE_KEY: replace_key,
    Action.DELETE_USER: delete_user,
}
"""The one step task per action."""


class ApplyFailed(RuntimeError):
    """Some changes failed after their retries; what was applied is in ``results``."""

    def __init__(self, failures: list[tuple[Change, BaseException]], results: list[StepResult]):
        self.failures = failures
        self.results = results
        lines = [f"{change.describe()}: {error}" for change, error in failures]
        super().__init__(f"{len(failures)} change(s) failed:\n" + "\n".join(lines))


async def apply_plan(
    plan: Plan,
    ctx: StepContext,
    *,
    max_parallel: int = 8,
    rate_limit_name: str | None = None,
) -> list[StepResult]:
    """Run every change of ``plan`` through its step; stop after the first stage with a failure.

    Later stages depend on earlier ones (a membership needs its user), so a failed stage ends
    the apply; everything that succeeded is returned inside ``ApplyFailed`` for the report.

    Args:
        plan: The approved plan.
        ctx: Blocks and ids known before the first stage.
        max_parallel: Steps of one stage in flight at once.
        rate_limit_name: Prefect global concurrency limit each step occupies a slot of.

    Returns:
        One result per change, in plan order.

    Raises:
        ApplyFailed: if any change still failed after its retries.
    """
    logger = get_run_logger()
    results: list[StepResult] = []
    refs = dict(ctx.refs)
    gate = asyncio.Semaphore(max_parallel)
    progress.started(len(plan.changes))

    async def run(stage_ctx: StepContext, change: Change) -> StepResult:
        async with gate:
            if rate_limit_name:
                # strict: a missing limit must fail loudly, not silently stop protecting Arize.
                await rate_limit(rate_limit_name, strict=True)
            return await progress.track(change, STEPS[change.action](stage_ctx, change))

    for number, stage in enumerate(plan.stages, start=1):
        stage_ctx = ctx.model_copy(update={"refs": dict(refs)})
        logger.info("stage %d/%d: %d change(s)", number, len(plan.stages), len(stage))
        outcomes = await asyncio.gather(
            *(run(stage_ctx, change) for change in stage), return_exceptions=True
        )
        failures: list[tuple[Change, BaseException]] = []
        for change, outcome in zip(stage, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                failures.append((change, outcome))
            else:
                results.append(outcome)
                refs.update(outcome.refs)
        if failures:
            raise ApplyFailed(failures, results)
    return results
