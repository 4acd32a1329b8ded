"""Apply a plan: stage by stage, the changes of a stage concurrently, each through its step."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, get_type_hints

from prefect import get_run_logger
from prefect.concurrency.asyncio import rate_limit

from tasks.planning.changes import (
    CHANGE_MODELS,
    BindRole,
    Change,
    CreateRole,
    CreateServiceKey,
    CreateSpace,
    DeleteRole,
    DeleteUser,
    InviteUser,
    RebindRole,
    ReplaceKey,
    RestrictProject,
    RevokeKey,
    RotateKey,
    SetOrgRole,
    SetSpaceRole,
    UnbindRole,
    UpdateRole,
)
from tasks.planning.plan import Plan
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

C = TypeVar("C", bound=Change)
Step = Callable[[StepContext, C], Awaitable[StepResult]]
"""A step: a Prefect task that applies one kind of change, idempotently."""

STEPS: dict[str, Step[Any]] = {}
"""Action → the one step task that applies it."""


def add_step(model: type[C], step: Step[C]) -> None:
    """Make ``step`` the step of ``model``'s action.

    Raises:
        TypeError: the step's ``change`` parameter is not annotated with ``model``, or the
            action already has another step.
    """
    fn = getattr(step, "fn", step)
    # localns: a step defined next to its model inside a function still resolves its hint.
    annotated = get_type_hints(fn, localns={model.__name__: model}).get("change")
    if annotated is not model:
        raise TypeError(f"{fn.__name__} must take `change: {model.__name__}`, not {annotated}")
    action = str(model.model_fields["action"].default)
    known = STEPS.get(action)
    if known is not None and getattr(known, "fn", known) is not fn:
        raise TypeError(f"action {action!r} already has the step {known!r}")
    STEPS[action] = step


for _model, _step in (
    (CreateSpace, ensure_space),
    (CreateRole, ensure_role),
    (UpdateRole, update_role),
    (DeleteRole, delete_role),
    (InviteUser, ensure_user),
    (SetOrgRole, set_org_role),
    (SetSpaceRole, set_space_role),
    (BindRole, bind_role),
    (RebindRole, rebind_role),
    (UnbindRole, unbind_role),
    (RestrictProject, restrict_project),
    (CreateServiceKey, ensure_service_key),
    (RevokeKey, revoke_key),
    (RotateKey, rotate_key),
    (ReplaceKey, replace_key),
    (DeleteUser, delete_user),
):
    add_step(_model, _step)


def missing_steps() -> list[str]:
    """Registered actions that have no step (none, once every runbook module is imported)."""
    return sorted(set(CHANGE_MODELS) - set(STEPS))


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
            return await progress.track(change, STEPS[str(change.action)](stage_ctx, change))

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
