"""Account-as-code tests, in process where they can be: the emulator app behind
``httpx.ASGITransport``, the planner and exporter called as a flow calls them, and plans applied
by the very step functions the engine runs (their Arize client pointed at the same app)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI

import flows.account_as_code.steps  # noqa: F401  (the new changes' steps)
from arize_admin import AsyncArizeAdmin, is_transient
from blocks.arize import ArizeCredentials
from blocks.key_store import ArizeKeyStore
from core.planning.plan import Plan
from emulator.arize import create_app
from flows.account_as_code.export import export_account, write_account
from flows.account_as_code.loader import load_account
from flows.account_as_code.plan import plan_loaded
from tasks.steps.apply import STEPS
from tasks.steps.step import StepContext, StepResult
from tests.fixtures.arize import ADMIN_KEY

BASE_URL = "http://arize.test"


class LossyTransport(httpx.AsyncBaseTransport):
    """The app in process; a share of mutations is applied and its answer then lost.

    The emulator's own ``lost_response_rate`` closes a real connection mid-answer, which an
    in-process transport cannot show; this is the same fault one layer up: the request reaches
    the app and commits, and the client sees ``RemoteProtocolError``.
    """

    def __init__(self, app: FastAPI) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.lose_rate = 0.0
        self.lost = 0
        self.random = random.Random(22)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if (
            request.method in MUTATING
            and request.url.path.startswith("/v2")
            and self.random.random() < self.lose_rate
        ):
            self.lost += 1
            raise httpx.RemoteProtocolError("answer lost (injected)", request=request)
        return response
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Account:
    """One test's emulator app, an admin client on it, and helpers to plan and apply."""

    app: FastAPI
    http: httpx.AsyncClient
    client: AsyncArizeAdmin
    transport: LossyTransport

    async def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, f"/_emulator{path}", **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    async def mutations(self) -> int:
        journal = await self.control("GET", "/requests")
        return sum(n for route, n in journal["by_route"].items() if route.split()[0] in MUTATING)

    async def export(self, directory: Path) -> Path:
        write_account(await export_account(self.client), directory)
        return directory

    async def plan(self, directory: Path) -> Plan:
        # As the CLI plans: the directory loaded, its spaces read again a file at a time.
        return await plan_loaded(self.client, load_account(directory))

    async def apply(
        self, plan: Plan, *, only_stages: int | None = None, retries: int = 0
    ) -> list[StepResult]:
        """Apply as the engine does: stage by stage, each change through its step's function.

        ``only_stages`` stops after that many stages: an apply cut off halfway. ``retries``:
        a step that fails transiently runs again, as its Prefect task's retries would.
        """
        ctx = StepContext(
            credentials=ArizeCredentials(api_key=ADMIN_KEY, base_url=BASE_URL),
            key_store=ArizeKeyStore(prefix="test"),
        )
        results: list[StepResult] = []
        for stage in plan.stages[:only_stages]:
            for change in stage:
                step = getattr(STEPS[str(change.action)], "fn", None) or STEPS[str(change.action)]
                for attempt in range(retries + 1):
                    try:
                        result = await step(ctx, change)
                        break
                    except Exception as ex:
                        if attempt == retries or not is_transient(ex):
                            raise
                ctx.refs.update(result.refs)
                results.append(result)
        return results


def edit(path: Path, change: Any) -> None:
    """Load a YAML file, let ``change`` edit the data, write it back."""
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


async def _account(seed: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Account]:
    app = create_app(seed=seed, admin_key=ADMIN_KEY)
    transport = LossyTransport(app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:

        def in_process(self: ArizeCredentials, api_key: Any = None) -> AsyncArizeAdmin:
            # The steps open their client from the credentials block: here, on the same app.
            return AsyncArizeAdmin(api_key=ADMIN_KEY, base_url=BASE_URL, http_client=http)

        monkeypatch.setattr(ArizeCredentials, "get_client", in_process)
        async with AsyncArizeAdmin(api_key=ADMIN_KEY, base_url=BASE_URL, http_client=http) as c:
            yield Account(app=app, http=http, client=c, transport=transport)


@pytest.fixture
async def account(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Account]:
    """The demo account."""
    async for made in _account("demo", monkeypatch):
        yield made


@pytest.fixture
async def exported(account: Account, tmp_path: Path) -> Path:
    """The demo account exported to a directory."""
    return await account.export(tmp_path / "account")
