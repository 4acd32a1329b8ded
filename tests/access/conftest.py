"""Helpers for the temporary-access tests: a grant answered through the CLI's gate code path."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from prefect import get_client

from arize_admin import AsyncArizeAdmin, RoleBinding, RoleBindingResourceType
from cli.approvals import answer_gate
from core.service_key import ENV_VAR
from flows.time_bound_access.grant import GrantOutcome, grant_temporary_access
from flows.time_bound_access.records import GRANT_PREFIX
from flows.time_bound_access.spec import GrantTemporaryAccessSpec
from tasks.triggers import Trigger, TriggerSource
from tests.fixtures.runbooks import APPROVER, wait_for_paused_run

GRANT_FLOW = "grant-temporary-access"


@pytest.fixture(autouse=True)
def _service_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key the webhook service signs triggers with; the flow only believes signed ones."""
    monkeypatch.setenv(ENV_VAR, "access-test-service-key-0123456789abcdef")


@pytest.fixture(autouse=True)
async def _no_grants_from_other_tests(request: pytest.FixtureRequest) -> None:
    """Grant records live in Prefect, which outlives the per-test emulator reset: start empty."""
    if "runbook_policy" not in request.fixturenames:
        return
    async with get_client() as client:
        for variable in await client.read_variables():
            if variable.name.startswith(GRANT_PREFIX):
                await client.delete_variable_by_name(variable.name)

REQUESTER = "rita.requester@acme.example"


def spec(**changes: Any) -> GrantTemporaryAccessSpec:
    """Sam gets Project Viewer on fraud-detection/payments-risk for a few seconds."""
    data = {
        "email": "sam@acme.example",
        "role": "Project Viewer",
        "space": "fraud-detection",
        "project": "payments-risk",
        "duration": 4,
        "reason": "investigate a payments incident",
        "ticket": "INC-42",
    }
    return GrantTemporaryAccessSpec.model_validate({**data, **changes})


async def approve_next(approved: bool = True, approver: str = APPROVER) -> None:
    """Answer the next grant run that pauses at its gate."""
    since = datetime.now(UTC)
    run = await wait_for_paused_run(GRANT_FLOW, since)
    await answer_gate(run.id, approved=approved, approver=approver)


async def grant(request: GrantTemporaryAccessSpec, *, approved: bool = True) -> GrantOutcome:
    """Run the grant flow with its gate answered by the approver."""
    answer = asyncio.create_task(approve_next(approved))
    try:
        return await grant_temporary_access(
            spec=request,
            trigger=Trigger(source=TriggerSource.MANUAL, requested_by=REQUESTER).signed(),
        )
    finally:
        if not answer.done():
            answer.cancel()


async def binding_of(arize, email: str, resource_id: str, kind: str) -> RoleBinding | None:
    """The user's one binding on the resource, as the admin reads it."""
    async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
        user = await client.users.find_by_email(email)
        assert user is not None
        async for binding in client.role_bindings.list(
            resource_type=RoleBindingResourceType(kind), user_id=user.id
        ):
            if binding.resource_id == resource_id:
                return binding
    return None


async def until(check: Callable[[], Awaitable[bool]], *, within: float = 60) -> None:
    """Poll ``check()`` every quarter second until it is true; fail after ``within`` seconds."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - the condition lives in another process
            await asyncio.sleep(0.25)
