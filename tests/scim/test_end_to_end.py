"""From the IdP to Arize through the workers: SCIM requests to the real service (its own thread,
forwarder on) → inbox → forwarder → real Prefect deployment runs on a process worker → the Arize
emulator changed. A joiner, a rename, a leaver (gate answered by the policy's approver through
the CLI's code path) and their reactivation (the same)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect import get_client

from arize_admin import AsyncArizeAdmin, RoleBindingResourceType
from cli.approvals import answer_gate
from flows.registry import BY_NAME
from tests.access.conftest import until
from tests.fixtures.prefect import deploy_as_shipped, process_worker
from tests.fixtures.runbooks import APPROVER, admin_client, wait_for_paused_run
from tests.fixtures.webhooks import WebhookServer, test_settings
from tests.scim.conftest import ROUTING, SCIM, patch, user_body
from webhooks.inbox import Inbox
from webhooks.scim import tokens

pytestmark = pytest.mark.slow

POOL = "scim-end-to-end"
#: The runbooks examples/routing-scim.yaml starts.
RUNBOOKS = ("onboard-team", "offboard-user", "update-user-profile", "restore-user")
NIA = "nia.new@acme.example"


@pytest.fixture
async def worker(prefect_harness: str, tmp_path: Path) -> AsyncIterator[None]:
    """The routed runbooks as ``<name>/<name>`` deployments on a process pool, and a worker."""
    async with get_client() as client:
        for name in RUNBOOKS:
            await deploy_as_shipped(client, BY_NAME[name].flow, POOL)
    with process_worker(POOL, tmp_path / "worker.log"):
        yield


@pytest.fixture
async def service(prefect_harness: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The service on SQLite with the example SCIM routing and its forwarder on; a client
    holding a fresh bearer token."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    inbox = Inbox(url, migrate=True)
    await inbox.open()
    try:
        token = await tokens.create(inbox.engine, "okta")
    finally:
        await inbox.close()
    settings = test_settings(
        inbox_url=url, prefect_api_url=prefect_harness, routing_config=ROUTING,
        slack_expiry_sweep_seconds=0,
    )
    with _serving(settings) as base_url:
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as http:
            yield http


@contextlib.contextmanager
def _serving(settings: Any) -> Iterator[str]:
    with WebhookServer(settings) as server:
        yield server.base_url


async def _arize(arize: Any, read: Callable[[AsyncArizeAdmin], Awaitable[Any]]) -> Any:
    async with admin_client(arize) as client:
        return await read(client)


async def _spaces_of(client: AsyncArizeAdmin, email: str) -> set[str] | None:
    """Names of the spaces ``email`` holds a role on; None without an account."""
    user = await client.users.find_by_email(email)
    if user is None:
        return None
    names = {s.id: s.name async for s in client.spaces.list()}
    return {
        names.get(b.resource_id, b.resource_id)
        async for b in client.role_bindings.list(
            resource_type=RoleBindingResourceType.SPACE, user_id=user.id
        )
    }


async def _approve(flow_name: str, since: datetime) -> None:
    run = await wait_for_paused_run(flow_name, since)
    await answer_gate(run.id, approved=True, approver=APPROVER)


async def test_joiner_rename_leaver_and_return_reach_arize(
    arize: Any, runbook_policy: Any, worker: None, service: httpx.AsyncClient
) -> None:
    # Joiner: Okta looks the person up, then creates them → onboard-team invites them to the
    # organization's default space (created on the way).
    lookup = await service.get(f"{SCIM}/Users", params={"filter": f'userName eq "{NIA}"'})
    assert lookup.json()["totalResults"] == 0
    created = await service.post(f"{SCIM}/Users", json=user_body(NIA, given="Nia", family="New"))
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]

    async def joined() -> bool:
        return await _arize(arize, lambda c: _spaces_of(c, NIA)) == {"general"}

    await until(joined, within=180)

    # A display-name change only → update-user-profile renames her in Arize, no approval.
    renamed = await service.patch(
        f"{SCIM}/Users/{user_id}",
        json=patch({"op": "replace", "path": "displayName", "value": "Nia Newton"}),
    )
    assert renamed.status_code in (200, 204), renamed.text

    async def has_new_name() -> bool:
        user = await _arize(arize, lambda c: c.users.find_by_email(NIA))
        return user is not None and user.name == "Nia Newton"

    await until(has_new_name, within=180)

    # Leaver: Okta deactivates → offboard-user (account kept) waits at its gate; approved,
    # her access is gone and her account stays, for a return.
    since = datetime.now(UTC)
    off = await service.patch(
        f"{SCIM}/Users/{user_id}", json=patch({"op": "replace", "value": {"active": False}})
    )
    assert off.status_code in (200, 204), off.text
    await _approve("offboard-user", since)

    async def gone() -> bool:
        return await _arize(arize, lambda c: _spaces_of(c, NIA)) == set()

    await until(gone, within=180)

    # Return: Okta reactivates → restore-user gives back what the snapshot holds, after its gate.
    since = datetime.now(UTC)
    on = await service.patch(
        f"{SCIM}/Users/{user_id}", json=patch({"op": "replace", "value": {"active": True}})
    )
    assert on.status_code in (200, 204), on.text
    await _approve("restore-user", since)
    await until(joined, within=180)
