"""``ArizeCredentials.shared_connections``: clients built inside reuse one connection pool,
each still counts its own requests and sends its own key, and nothing leaks outside."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from arize_admin import AuthenticationError
from blocks.arize import ArizeCredentials
from tests.fixtures.arize import ArizeTarget


def credentials(arize: ArizeTarget, **changes: object) -> ArizeCredentials:
    return ArizeCredentials(api_key=arize.admin_key, base_url=arize.base_url, **changes)


async def test_clients_inside_share_one_pool_and_count_their_own_requests(
    arize: ArizeTarget,
) -> None:
    block = credentials(arize)
    async with block.shared_connections():
        async with block.get_client() as first, block.get_client() as second:
            assert first._http is second._http
            await first.users.list().get_page()
            await first.users.list().get_page()
            await second.users.list().get_page()
            assert (first.request_count, second.request_count) == (2, 1)
        # Closing a view does not close the pool the others are using.
        async with block.get_client() as third:
            assert not third._http.is_closed
            await third.users.list().get_page()
        pool = third._http
    assert pool.is_closed, "the pool is closed when the context ends"
    async with block.get_client() as outside:
        assert outside._http is not pool
    assert arize.requests()["by_route"]["GET /v2/users"] == 4


async def test_a_view_sends_its_own_key(arize: ArizeTarget) -> None:
    block = credentials(arize)
    async with block.shared_connections():
        async with block.get_client(api_key=SecretStr("ak-not-a-real-key")) as stranger:
            with pytest.raises(AuthenticationError):
                await stranger.users.list().get_page()
        other_block = ArizeCredentials(
            api_key=SecretStr("ak-another-block-key"), base_url=arize.base_url
        )
        async with other_block.get_client() as other:
            assert other.api_key.get_secret_value() == "ak-another-block-key"
        async with block.get_client() as own:
            await own.users.list().get_page()


async def test_other_settings_or_another_loop_get_a_pool_of_their_own(arize: ArizeTarget) -> None:
    block = credentials(arize)
    async with block.shared_connections(), block.get_client() as shared:
        async with credentials(arize, timeout=5.0).get_client() as slower:
            assert slower._http is not shared._http

        def in_a_thread() -> bool:
            async def build() -> bool:
                async with block.get_client() as client:
                    return client._http is shared._http

            return asyncio.run(build())

        # The context is copied into the thread, but an httpx pool belongs to its loop.
        assert await asyncio.to_thread(in_a_thread) is False
