"""Task-level retry options: long, jittered backoff for outages, and only for transient errors.

The client already retries idempotent requests briefly; these options cover longer outages and
the steps whose POST lost its response (the step re-reads before it writes again).
"""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from arize_admin import is_transient


async def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """``retry_condition_fn``: retry when the failed attempt raised a transient error.

    Async on purpose: ``State.result`` dispatches on the calling context, and the async tasks'
    engine calls this from its event loop, where the sync form would return a coroutine.
    """
    exc = await state.aresult(raise_on_failure=False)
    return isinstance(exc, BaseException) and is_transient(exc)


STEP_OPTIONS: dict[str, Any] = {
    "retries": 5,
    "retry_delay_seconds": exponential_backoff(backoff_factor=0.5),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_if_transient,
    # Inputs hold credential blocks; never hash or persist them.
    "cache_policy": NO_CACHE,
}
"""Options for every step and read task that talks to Arize."""
