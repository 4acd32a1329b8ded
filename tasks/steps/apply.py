"""Apply a plan: stage by stage, the changes of a stage concurrently, each through its step.

A small stage runs one Prefect task per change, each with its own retries and UI row. A large
stage would spend more on orchestration (task runs, states, events) than on Arize, so it runs
as one batch task that calls each step's function directly, ``max_parallel`` at a time, and
records every outcome as a row of the batch's table artifact. A change that fails transiently
there is handed to its own step task, so it still gets Prefect's retries and a row of its own.

Per change, a batch costs only the step's own work: its clients share the batch's keep-alive
connections, its outcome is a table row rather than a log line (the batch logs a summary), and
the batch's inputs are passed ``quote``d, so Prefect does not walk thousands of changes looking
for futures. Each outcome is logged here, in one place, not by the steps.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, get_type_hints

from prefect import get_run_logger, task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from arize_admin import is_transient
from core.planning.changes import (
    CHANGE_MODELS,
    AddSamlRoleMapping,
    BindRole,
    Change,
    CreateRole,
    CreateSamlIdentityProvider,
    CreateServiceKey,
    CreateSpace,
    DeleteRole,
    DeleteUser,
    InviteUser,
    RebindRole,
    RemoveSamlRoleMapping,
    ReplaceKey,
    RestrictProject,
    RevokeKey,
    RotateKey,
    SetOrgRole,
    SetSpaceRole,
    UnbindRole,
    UpdateRole,
    UpdateSamlRoleMapping,
)
from core.planning.plan import Plan
from tasks.steps import progress, throttle
from tasks.steps.bindings import bind_role, rebind_role, unbind_role
from tasks.steps.keys import ensure_service_key, revoke_key
from tasks.steps.memberships import set_org_role, set_space_role
from tasks.steps.replacement import replace_key
from tasks.steps.restrictions import restrict_project
from tasks.steps.roles import delete_role, ensure_role, update_role
from tasks.steps.rotation import rotate_key
from tasks.steps.saml import (
    add_saml_mapping,
    ensure_saml_idp,
    remove_saml_mapping,
    update_saml_mapping,
)
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
    (CreateSamlIdentityProvider, ensure_saml_idp),
    (AddSamlRoleMapping, add_saml_mapping),
    (UpdateSamlRoleMapping, update_saml_mapping),
    (RemoveSamlRoleMapping, remove_saml_mapping),
):
    add_step(_model, _step)


def missing_steps() -> list[str]:
    """Registered actions that have no step (none, once every runbook module is imported)."""
    return sorted(set(CHANGE_MODELS) - set(STEPS))


BATCH_ABOVE = 24
"""Stages with more changes than this run in batches rather than one task per change."""


class ApplyFailed(RuntimeError):
    """Some changes failed after their retries; what was applied is in ``results``."""

    def __init__(self, failures: list[tuple[Change, BaseException]], results: list[StepResult]):
        self.failures = failures
        self.results = results
        lines = [f"{change.describe()}: {error}" for change, error in failures]
        super().__init__(f"{len(failures)} change(s) failed:\n" + "\n".join(lines))


async def _apply_one(ctx: StepContext, change: Change, *, direct: bool) -> StepResult:
    """One change through its step: as its own task, or called directly inside a batch."""
    step = STEPS[str(change.action)]
    if not direct:
        result = await progress.track(change, step(quote(ctx), change))
        _log_outcome(change, result, logging.INFO)
        return result
    try:
        result = await progress.track(change, step.fn(ctx, change))
    except Exception as error:
        if not is_transient(error):
            raise
        # Transient: the step task retries it with backoff; the step is idempotent, so a
        # first attempt whose response was lost is found, not repeated.
        result = await progress.track(change, step(quote(ctx), change))
    # The batch's table row records it; a log line per change at INFO was a sixth of the
    # flow's CPU on a 1,000-member onboarding.
    _log_outcome(change, result, logging.DEBUG)
    return result


def _log_outcome(change: Change, result: StepResult, level: int) -> None:
    logger = get_run_logger()
    if logger.isEnabledFor(level):
        detail = f" ({result.detail})" if result.detail else ""
        logger.log(level, "%s: %s%s", change.describe(), result.outcome.value, detail)


@task(name="Apply batch", task_run_name="apply {label}", cache_policy=NO_CACHE)
async def apply_batch(
    ctx: StepContext,
    changes: list[Change],
    label: str,
    max_parallel: int = 8,
) -> list[StepResult | str]:
    """Apply ``changes``, ``max_parallel`` at a time; each outcome a row of the batch's table.

    One pool of changes rather than fixed lanes: whichever change finishes first frees its slot
    for the next, so a slow call does not leave a lane of work behind it.

    Returns:
        Per change, in order: its result, or the error that stopped it, in words.
    """
    gate = asyncio.Semaphore(max_parallel)

    async def one(change: Change) -> StepResult | str:
        async with gate:
            try:
                return await _apply_one(ctx, change, direct=True)
            except Exception as error:
                return f"{type(error).__name__}: {error}"

    async with ctx.credentials.shared_connections():
        outcomes = list(await asyncio.gather(*(one(change) for change in changes)))
    tally = Counter(o.outcome.value if isinstance(o, StepResult) else "failed" for o in outcomes)
    get_run_logger().info(
        "%s: %s", label, ", ".join(f"{n} {outcome}" for outcome, n in sorted(tally.items()))
    )
    await acreate_table_artifact(
        table=[
            {"change": change.describe(), "outcome": o.outcome.value, "detail": o.detail}
            if isinstance(o, StepResult)
            else {"change": change.describe(), "outcome": "failed", "detail": o}
            for change, o in zip(changes, outcomes, strict=True)
        ],
        description=f"Changes applied by {label}",
    )
    return outcomes


class _BatchError(RuntimeError):
    """A change in a batch failed; the message is the batch's account of it."""


async def _run_stage(
    stage_ctx: StepContext,
    stage: list[Change],
    number: int,
    *,
    max_parallel: int,
) -> list[StepResult | BaseException]:
    """Every change of one stage, in order: a result or the exception that stopped it."""
    if len(stage) <= BATCH_ABOVE:
        gate = asyncio.Semaphore(max_parallel)

        async def one(change: Change) -> StepResult:
            async with gate:
                return await _apply_one(stage_ctx, change, direct=False)

        return await asyncio.gather(*(one(c) for c in stage), return_exceptions=True)
    outcomes = await apply_batch(
        quote(stage_ctx),
        quote(stage),
        f"stage {number} ({len(stage)} changes)",
        max_parallel,
    )
    return [o if isinstance(o, StepResult) else _BatchError(o) for o in outcomes]


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
        max_parallel: Changes of one stage in flight at once.
        rate_limit_name: Prefect global concurrency limit each request to Arize takes a slot of.

    Returns:
        One result per change, in plan order.

    Raises:
        ApplyFailed: if any change still failed after its retries.
    """
    results: list[StepResult] = []
    refs = dict(ctx.refs)
    if rate_limit_name and plan.changes:
        # Every request of the run from here on, in every stage, batch and step task, takes a
        # slot (a run started by `load_policy` already does). A missing limit fails loudly
        # (RateLimitMissing), never silently unprotects Arize.
        await throttle.pace(rate_limit_name)
    progress.started(len(plan.changes))
    return await _apply_stages(plan, ctx, refs, results, max_parallel)


async def _apply_stages(
    plan: Plan,
    ctx: StepContext,
    refs: dict[str, str],
    results: list[StepResult],
    max_parallel: int,
) -> list[StepResult]:
    logger = get_run_logger()
    for number, stage in enumerate(plan.stages, start=1):
        stage_ctx = ctx.model_copy(update={"refs": dict(refs)})
        logger.info("stage %d/%d: %d change(s)", number, len(plan.stages), len(stage))
        outcomes = await _run_stage(stage_ctx, stage, number, max_parallel=max_parallel)
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
