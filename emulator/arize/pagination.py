"""One opaque-cursor paginator, declared per list endpoint (moto's ``PAGINATION_MODEL``).

A cursor encodes the sort key of the last item returned plus a fingerprint of the list's
filters, so inserts and deletes between pages never skip or repeat an item, and a cursor
replayed against other filters is rejected with 400.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from emulator.arize.errors import BadRequest
from emulator.arize.tables import Table

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "PAGINATION_MODEL",
    "ListSpec",
    "Page",
    "paginate",
    "paginate_table",
]

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


@dataclass(frozen=True)
class ListSpec:
    """How one list endpoint pages.

    Attributes:
        list_key: The envelope key holding the items (``logs`` for audit logs).
        newest_first: Sort descending by creation instead of ascending.
        filter_after_page: Apply the visibility filter after cutting the page, so pages may be
            short or empty while ``has_more`` is true (resource restrictions only).
    """

    list_key: str
    newest_first: bool = False
    filter_after_page: bool = False


PAGINATION_MODEL: dict[str, ListSpec] = {
    "users": ListSpec("users"),
    "organizations": ListSpec("organizations"),
    "spaces": ListSpec("spaces"),
    "projects": ListSpec("projects"),
    "roles": ListSpec("roles"),
    "role_bindings": ListSpec("role_bindings"),
    "resource_restrictions": ListSpec("resource_restrictions", filter_after_page=True),
    "api_keys": ListSpec("api_keys"),
    "audit_logs": ListSpec("logs", newest_first=True),
    "saml_identity_providers": ListSpec("saml_identity_providers"),
    "saml_role_mappings": ListSpec("role_mappings"),
}


@dataclass
class Page(Generic[T]):
    """One page of results."""

    items: list[T]
    next_cursor: str | None

    def envelope(self, list_key: str, render: Callable[[T], Any]) -> dict[str, Any]:
        """Return ``{list_key: [...], "pagination": {...}}`` with ``next_cursor`` only if more."""
        pagination: dict[str, Any] = {"has_more": self.next_cursor is not None}
        if self.next_cursor is not None:
            pagination["next_cursor"] = self.next_cursor
        return {list_key: [render(item) for item in self.items], "pagination": pagination}


def _fingerprint(filters: dict[str, Any]) -> str:
    blob = json.dumps(filters, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _encode_cursor(key: Sequence[Any], fingerprint: str) -> str:
    blob = json.dumps({"k": list(key), "f": fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(blob.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, fingerprint: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        key, found = data["k"], data["f"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise BadRequest("Invalid cursor.") from exc
    if found != fingerprint or not isinstance(key, list):
        raise BadRequest("Invalid cursor: it belongs to a list with other filters.")
    return key


def paginate(
    spec: ListSpec,
    items: Iterable[T],
    *,
    sort_key: Callable[[T], tuple[Any, ...]],
    limit: int | None,
    cursor: str | None,
    filters: dict[str, Any] | None = None,
    visible: Callable[[T], bool] | None = None,
) -> Page[T]:
    """Cut one page out of ``items``.

    Args:
        spec: The list's declaration from :data:`PAGINATION_MODEL`.
        items: Every candidate item (already filtered, unless ``spec.filter_after_page``).
        sort_key: A JSON-serialisable, strictly increasing key per item (creation time, id).
        limit: Page size, 1..100; None means :data:`DEFAULT_LIMIT`.
        cursor: The previous page's ``next_cursor``.
        filters: The list's query filters; a cursor only works with the same filters.
        visible: With ``filter_after_page``, the filter applied to the cut page.

    Returns:
        The page and the cursor of the next one (None when there is no more).

    Raises:
        BadRequest: ``limit`` out of range or an unreadable cursor.
    """
    size = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= size <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}, got {size}.")
    fingerprint = _fingerprint(filters or {})
    ordered = sorted(items, key=sort_key, reverse=spec.newest_first)
    if cursor:
        after = tuple(_decode_cursor(cursor, fingerprint))
        if spec.newest_first:
            ordered = [i for i in ordered if tuple(sort_key(i)) < after]
        else:
            ordered = [i for i in ordered if tuple(sort_key(i)) > after]
    chunk = ordered[:size]
    more = len(ordered) > size
    next_cursor = _encode_cursor(sort_key(chunk[-1]), fingerprint) if more and chunk else None
    if spec.filter_after_page and visible is not None:
        chunk = [i for i in chunk if visible(i)]
    return Page(chunk, next_cursor)


def paginate_table(
    spec: ListSpec,
    table: Table[T],
    *,
    sort_key: Callable[[T], tuple[Any, ...]],
    predicate: Callable[[T], bool],
    limit: int | None,
    cursor: str | None,
    filters: dict[str, Any] | None = None,
) -> Page[T]:
    """:func:`paginate` over the rows of ``table`` that match ``predicate``, in O(page).

    The table keeps its rows sorted until its next write; the cursor is found by bisection
    and the scan stops once the page and one more match are found, so listing 20,000 rows
    a page at a time costs about one pass in total, not one pass per page. Pages and cursors
    are the same as :func:`paginate` would give (ascending lists only).
    """
    if spec.newest_first or spec.filter_after_page:
        raise ValueError(f"{spec.list_key}: paginate_table pages ascending, pre-filtered lists")
    size = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= size <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}, got {size}.")
    fingerprint = _fingerprint(filters or {})
    keys, ordered = table.ordered(sort_key)
    start = bisect.bisect_right(keys, tuple(_decode_cursor(cursor, fingerprint))) if cursor else 0
    chunk: list[T] = []
    more = False
    for index in range(start, len(ordered)):
        row = ordered[index]
        if not predicate(row):
            continue
        if len(chunk) == size:
            more = True
            break
        chunk.append(row)
    next_cursor = _encode_cursor(sort_key(chunk[-1]), fingerprint) if more and chunk else None
    return Page(chunk, next_cursor)
