"""Task-level retry options: long, jittered backoff for outages, and only for transient errors.

The client already retries idempotent requests briefly; these options cover longer outages and
the steps whose POST lost its response (the step re-reads before it writes again).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from arize_admin import is_transient

RetryCondition = Callable[[Any, Any, Any], Awaitable[bool]]


def retry_when(is_retryable: Callable[[BaseException], bool]) -> RetryCondition:
    """A ``retry_condition_fn`` that retries when the failed attempt's exception qualifies.

    Async on purpose: ``State.result`` dispatches on the calling context, and the async tasks'
    engine calls this from its event loop, where the sync form would return a coroutine.
    """

    async def condition(task: Any, task_run: Any, state: Any) -> bool:
        exc = await state.aresult(raise_on_failure=False)
        return isinstance(exc, BaseException) and is_retryable(exc)

    return condition


retry_if_transient = retry_when(is_transient)
"""Retry Arize calls that failed transiently: 429, 5xx, timeouts, connection errors."""


STEP_OPTIONS: dict[str, Any] = {
    "retries": 5,
    "retry_delay_seconds": exponential_backoff(backoff_factor=0.5),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_if_transient,
    # Inputs hold credential blocks; never hash or persist them.
    "cache_policy": NO_CACHE,
}
"""Options for every step and read task that talks to Arize."""
