"""Cursor pagination shared by every list endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._exceptions import ArizeError

if TYPE_CHECKING:
    from ._client import AsyncArizeAdmin

__all__ = ["AsyncPaginator", "Page"]

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of a list endpoint.

    Attributes:
        items: the objects on this page (may be empty while `has_more` is true).
        has_more: the server's `pagination.has_more`.
        next_cursor: the opaque cursor of the next page, or None on the last page.
    """

    items: list[T]
    has_more: bool = False
    next_cursor: str | None = None
    raw_pagination: dict[str, Any] = field(default_factory=dict, repr=False)

    def next_page_info(self) -> str | None:
        """The cursor to follow, or None when this is the last page.

        Only `next_cursor` decides: resource-restriction pages may be short or even empty
        while more follow, so the item count says nothing.
        """
        return self.next_cursor or None


class AsyncPaginator(Generic[T]):
    """What `list()` returns: await it for the first page, `async for` it for every item.

    Example:
        ```python
        page = await client.users.list(limit=100)   # Page[User]
        async for user in client.users.list():      # every user, page after page
            ...
        ```
    """

    def __init__(
        self,
        client: AsyncArizeAdmin,
        path: str,
        *,
        params: dict[str, Any],
        item_key: str,
        parse: Callable[[Any], T],
    ) -> None:
        self._client = client
        self._path = path
        self._params = params
        self._item_key = item_key
        self._parse = parse

    async def get_page(self, cursor: str | None = None) -> Page[T]:
        """Fetch one page.

        Args:
            cursor: a `next_cursor` from a previous page; None for the first page.
        """
        params = dict(self._params)
        if cursor is not None:
            params["cursor"] = cursor
        body = await self._client._get(self._path, params=params)
        pagination = body.get("pagination") or {}
        return Page(
            items=[self._parse(item) for item in body.get(self._item_key) or []],
            has_more=bool(pagination.get("has_more", False)),
            next_cursor=pagination.get("next_cursor") or None,
            raw_pagination=pagination,
        )

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Yield every page, following `next_cursor` until it is absent."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.get_page(cursor)
            yield page
            cursor = page.next_page_info()
            if cursor is None:
                return
            if cursor in seen:
                # A server that hands back a cursor twice would otherwise loop forever.
                raise ArizeError(f"GET {self._path}: pagination cursor repeated")
            seen.add(cursor)

    async def _items(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self.get_page().__await__()

    async def to_list(self) -> list[T]:
        """Collect every item of every page."""
        return [item async for item in self]
