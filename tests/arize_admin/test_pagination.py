"""Pagination: the cursor loop on scripted pages, then real paging through the emulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from arize_admin import ArizeError, AsyncArizeAdmin, AsyncPaginator, InviteMode, Page, User


class _ScriptedClient:
    """Hands out canned list bodies by cursor; the paginator's loop is what is under test."""

    def __init__(self, pages: dict[str | None, dict[str, Any]]) -> None:
        self.pages = pages
        self.cursors: list[str | None] = []

    async def _get(self, path: str, *, params: dict[str, Any]) -> dict[str, Any]:
        cursor = params.get("cursor")
        self.cursors.append(cursor)
        return self.pages[cursor]


def _paginator(client: _ScriptedClient) -> AsyncPaginator[int]:
    return AsyncPaginator(
        client,  # type: ignore[arg-type]
        "/v2/resource-restrictions",
        params={"limit": 3},
        item_key="items",
        parse=int,
    )


async def test_keeps_paging_through_short_and_empty_pages() -> None:
    client = _ScriptedClient(
        {
            None: {"items": [1], "pagination": {"has_more": True, "next_cursor": "a"}},
            "a": {"items": [], "pagination": {"has_more": True, "next_cursor": "b"}},
            "b": {"items": [2, 3], "pagination": {"has_more": True, "next_cursor": "c"}},
            "c": {"items": [], "pagination": {"has_more": False}},
        }
    )
    assert [item async for item in _paginator(client)] == [1, 2, 3]
    assert client.cursors == [None, "a", "b", "c"]


async def test_awaiting_gives_the_first_page_only() -> None:
    client = _ScriptedClient(
        {None: {"items": [1, 2, 3], "pagination": {"has_more": True, "next_cursor": "a"}}}
    )
    page = await _paginator(client)
    assert isinstance(page, Page)
    assert page.items == [1, 2, 3]
    assert page.has_more is True
    assert page.next_cursor == "a"
    assert page.next_page_info() == "a"
    assert client.cursors == [None]


async def test_stops_when_next_cursor_is_absent_even_if_has_more() -> None:
    client = _ScriptedClient({None: {"items": [1], "pagination": {"has_more": True}}})
    assert await _paginator(client).to_list() == [1]


async def test_a_repeated_cursor_is_an_error_not_a_loop() -> None:
    client = _ScriptedClient(
        {
            None: {"items": [1], "pagination": {"has_more": True, "next_cursor": "a"}},
            "a": {"items": [2], "pagination": {"has_more": True, "next_cursor": "a"}},
        }
    )
    with pytest.raises(ArizeError, match="cursor repeated"):
        await _paginator(client).to_list()


async def test_pages_over_more_than_a_hundred_users(admin: AsyncArizeAdmin) -> None:
    seeded = await admin.users.list().to_list()
    created = await asyncio.gather(
        *(
            admin.users.create(
                name=f"Bulk {n:03d}",
                email=f"bulk{n:03d}@acme.example",
                role="MEMBER",
                invite_mode=InviteMode.NONE,
            )
            for n in range(130)
        )
    )
    assert all(user.newly_created for user in created)

    first = await admin.users.list(limit=100)
    assert len(first.items) == 100
    assert first.has_more is True
    assert first.next_cursor

    everyone: list[User] = [user async for user in admin.users.list(limit=100)]
    assert len(everyone) == len(seeded) + 130
    assert len({user.id for user in everyone}) == len(everyone)
    assert {user.id for user in created} <= {user.id for user in everyone}
    created_at = [user.created_at for user in everyone]
    assert created_at == sorted(created_at)  # oldest first

    pages = [page async for page in admin.users.list(limit=100).pages()]
    assert [len(page.items) for page in pages] == [100, len(everyone) - 100]
    assert pages[-1].has_more is False
    assert pages[-1].next_cursor is None


async def test_filters_hold_across_pages(admin: AsyncArizeAdmin) -> None:
    await asyncio.gather(
        *(
            admin.users.create(
                name=f"Pager {n}",
                email=f"pager{n}@paging.example",
                role="MEMBER",
                invite_mode=InviteMode.NONE,
            )
            for n in range(7)
        )
    )
    found = [user async for user in admin.users.list(email="paging.example", limit=3)]
    assert sorted(user.email for user in found) == sorted(
        f"pager{n}@paging.example" for n in range(7)
    )
