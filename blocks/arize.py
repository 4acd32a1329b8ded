"""The Arize credentials block: configuration only; behaviour lives in `arize_admin`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import NamedTuple

from prefect.blocks.abstract import CredentialsBlock
from pydantic import Field, SecretStr

from arize_admin import AsyncArizeAdmin
from blocks.schema_cache import SchemaCached

__all__ = ["ArizeCredentials"]


class _SharedClient(NamedTuple):
    loop: asyncio.AbstractEventLoop
    settings: Hashable
    client: AsyncArizeAdmin


_shared: ContextVar[_SharedClient | None] = ContextVar("arize_shared_client", default=None)
"""The client whose connections `get_client` reuses, inside `shared_connections`."""


class ArizeCredentials(SchemaCached, CredentialsBlock):
    """Credentials for the Arize AX admin REST API, with the endpoint to reach it.

    Point `base_url` at a local emulator to run the same flows without touching Arize.

    Examples:
        Load stored credentials and list users:
        ```python
        from blocks import ArizeCredentials

        credentials = ArizeCredentials.load("BLOCK_NAME")
        async with credentials.get_client() as client:
            async for user in client.users.list():
                print(user.email)
        ```
    """

    _block_type_name = "Arize Credentials"
    _documentation_url = "https://arize.com/docs/ax/rest-reference"

    api_key: SecretStr = Field(
        default=...,
        title="API Key",
        description="Arize API key of an account admin (a user key or a service key).",
    )
    base_url: str | None = Field(
        default=None,
        title="Base URL",
        description=(
            "API host such as https://api.arize.com or a local emulator's address; "
            "leave empty for the default host or the region's host."
        ),
    )
    region: str | None = Field(
        default=None,
        description=(
            "Arize region (ca-central-1a, eu-west-1a, us-central-1a or us-east-1b), "
            "used when no base URL is set."
        ),
    )
    max_concurrency: int = Field(
        default=8,
        ge=1,
        description="Largest number of API requests in flight at once per client.",
    )
    timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds to wait for each API request attempt.",
    )

    def get_client(self, api_key: SecretStr | None = None) -> AsyncArizeAdmin:
        """Build a new admin client; open it with `async with` so its pool is closed.

        A new client each call, because an `httpx.AsyncClient` belongs to one event loop.
        Inside `shared_connections` (same block settings, same loop) the new client is a view
        on that one's connection pool: its own request count, the same cap on requests in
        flight, nothing to close.

        Args:
            api_key: Another key for the same endpoint and settings (proving a key just
                issued works); default: the block's own key.

        Returns:
            A new `AsyncArizeAdmin` configured from this block.
        """
        shared = _shared.get()
        if shared is not None and shared.settings == self._settings() and _on_loop(shared.loop):
            return shared.client.with_options(api_key=api_key or self.api_key)
        return AsyncArizeAdmin(
            api_key=api_key or self.api_key,
            base_url=self.base_url or None,
            region=None if self.base_url else self.region,
            timeout=self.timeout,
            max_concurrency=self.max_concurrency,
        )

    @asynccontextmanager
    async def shared_connections(self) -> AsyncIterator[None]:
        """Let every `get_client` inside this context reuse one pool of keep-alive connections.

        For code that applies hundreds of changes one after another, each with a client of its
        own: a TCP (and TLS) handshake and teardown per change was a fifth of the flow's CPU.
        """
        async with self.get_client() as client:
            token = _shared.set(_SharedClient(asyncio.get_running_loop(), self._settings(), client))
            try:
                yield
            finally:
                _shared.reset(token)

    def _settings(self) -> Hashable:
        """What a shared client must agree on; the key may differ (`with_options` swaps it)."""
        return (self.base_url, self.region, self.timeout, self.max_concurrency)


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
