"""The step retry policy: transient errors retry with backoff, the rest fail at once."""

from __future__ import annotations

import httpx
import pytest
from prefect import flow, task

from arize_admin import ConflictError, InternalServerError, RateLimitError
from arize_admin._exceptions import make_status_error
from tasks.retry import STEP_OPTIONS


def _status_error(cls, status: int):
    request = httpx.Request("POST", "http://127.0.0.1/v2/users")
    response = httpx.Response(status, request=request, json={"title": "x", "status": status})
    error = make_status_error(response, method="POST", path="/v2/users")
    assert isinstance(error, cls)
    return error


@pytest.mark.parametrize(
    ("error", "attempts"),
    [
        (lambda: httpx.ConnectError("boom"), 3),
        (lambda: _status_error(RateLimitError, 429), 3),
        (lambda: _status_error(InternalServerError, 503), 3),
        (lambda: _status_error(ConflictError, 409), 1),
        (lambda: ValueError("bad spec"), 1),
    ],
)
async def test_only_transient_errors_are_retried(prefect_harness, error, attempts):
    calls: list[int] = []
    options = {**STEP_OPTIONS, "retries": 2, "retry_delay_seconds": 0}

    @task(**options)
    async def flaky() -> None:
        calls.append(1)
        raise error()

    @flow
    async def runner() -> None:
        await flaky()

    state = await runner(return_state=True)

    assert state.is_failed()
    assert len(calls) == attempts
