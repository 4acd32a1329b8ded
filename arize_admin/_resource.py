"""Base class of the resource groups (`client.users`, ...) and their small shared helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote

from ._pagination import AsyncPaginator

if TYPE_CHECKING:
    from ._client import AsyncArizeAdmin

__all__ = ["UNSET", "AsyncAPIResource", "Unset"]

T = TypeVar("T")


class Unset(Enum):
    """Type of `UNSET`: marks an argument that was not given, where None means "clear"."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET


def path_id(value: str) -> str:
    """Percent-encode an id for a path segment with no safe characters (`=`→`%3D`, `/`→`%2F`)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"an id must be a non-empty string, not {value!r}")
    return quote(value, safe="")


def check_limit(limit: int | None) -> int | None:
    """Refuse a page size outside 1..100 before sending, as the generated client does."""
    if limit is not None and not 1 <= limit <= 100:
        raise ValueError(f"limit must be between 1 and 100, not {limit}")
    return limit


def body_value(value: Any) -> Any:
    """JSON form of a body value: enums by value, datetimes with `isoformat()`."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def compact(**fields: Any) -> dict[str, Any]:
    """A request body without the fields that are None (nullable fields are added apart)."""
    return {key: body_value(value) for key, value in fields.items() if value is not None}


class AsyncAPIResource:
    """A group of endpoints sharing the client's transport."""

    def __init__(self, client: AsyncArizeAdmin) -> None:
        self._client = client
        self._get = client._get
        self._post = client._post
        self._put = client._put
        self._patch = client._patch
        self._delete = client._delete

    def _list(
        self, path: str, *, item_key: str, parse: Callable[[Any], T], **params: Any
    ) -> AsyncPaginator[T]:
        check_limit(params.get("limit"))
        return AsyncPaginator(self._client, path, params=params, item_key=item_key, parse=parse)
