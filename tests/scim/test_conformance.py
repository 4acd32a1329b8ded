"""The public SCIM conformance checker, scim2-tester, against ``/scim/v2``: discovery, then
create, read, search, replace, PATCH and delete of Users and Groups.

scim2-tester drives a synchronous scim2-client. The service runs in process on an event loop
of its own thread (lifespan included), and each request of the checker is sent to it through
httpx's ASGI transport on that loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
from scim2_client import BaseSyncSCIMClient
from scim2_client.client import RawResponse
from scim2_tester import Status, check_server

from tests.scim.conftest import ROUTING
from webhooks.app import create_app
from webhooks.scim import tokens
from webhooks.scim.settings import ScimSettings
from webhooks.settings import Settings


class _LoopSCIM(BaseSyncSCIMClient):
    """scim2-client's sync engine over an httpx.AsyncClient living on another thread's loop
    (scim2-client ships a sync engine for httpx2 only)."""

    def __init__(
        self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.loop = loop

    def _stays_under_base_url(self, endpoint: str) -> bool:
        url = self.client.build_request("GET", endpoint).url
        base = self.client.base_url
        return url.host == base.host and url.path.startswith(base.path.rstrip("/"))

    def _parse_json(self, response: RawResponse) -> Any:
        return cast(httpx.Response, response).json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        future = asyncio.run_coroutine_threadsafe(
            self.client.request(method, url, **kwargs), self.loop
        )
        return future.result(timeout=60)


@contextmanager
def _served(app: Any) -> Iterator[tuple[_LoopSCIM, asyncio.AbstractEventLoop]]:
    """The app's lifespan entered on a loop of a thread of its own, and a client of it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    lifespan = app.router.lifespan_context(app)

    def call(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=60)

    call(lifespan.__aenter__())
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://scim.test/scim/v2/"
    )
    try:
        token = call(tokens.create(app.state.inbox.engine, "scim2-tester"))
        http.headers["Authorization"] = f"Bearer {token}"
        yield _LoopSCIM(http, loop), loop
    finally:
        call(http.aclose())
        call(lifespan.__aexit__(None, None, None))
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


def _results(tmp_path: Path) -> list[Any]:
    settings = Settings(
        environment="test",
        inbox_url=f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
        forwarder_enabled=False,
        prefect_api_url="http://127.0.0.1:9/api",
        routing_config=ROUTING,
    )
    app = create_app(settings, ScimSettings())
    with _served(app) as (client, _):
        client.discover()
        return check_server(client)


def test_scim2_tester_passes(tmp_path: Path) -> None:
    results = _results(tmp_path)
    failed = [
        f"{result.title}: {result.reason}"
        for result in results
        if result.status not in (Status.SUCCESS, Status.SKIPPED)
    ]
    assert not failed, "\n".join(failed)
    passed = {result.title for result in results if result.status == Status.SUCCESS}
    # The checks the issue names ran and passed, not merely were skipped.
    for wanted in ("object_creation", "object_query", "object_replacement", "object_deletion"):
        assert any(wanted in title for title in passed), (wanted, sorted(passed))
    # PATCH: scim2-tester adds, replaces and removes every attribute of both resource types.
    for wanted in ("check_add_attribute", "check_replace_attribute", "check_remove_attribute"):
        assert wanted in passed, (wanted, sorted(passed))
    assert len(results) > 100, "scim2-tester ran its whole suite"
