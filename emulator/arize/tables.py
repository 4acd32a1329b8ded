"""Account tables that know when they change, so sorted orders and lookups built from them
are rebuilt only after a write (the scale account lists 20,000 bindings a page at a time).

An index is keyed by the fields it groups on; those fields (ids a row points at, creation
time) never change after a row is stored, so a write to the table is the only invalidation.
Groups are kept up to date row by row instead: onboarding thousands of people writes a
membership per person and reads that person's memberships first, and rebuilding every group
after each write made that quadratic.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["Table"]

T = TypeVar("T")
D = TypeVar("D")
K = TypeVar("K", bound=Hashable)


class Table(dict[str, T]):
    """A ``dict`` of rows by id that drops its derived indexes on every write."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = 0
        self._derived: dict[str, Any] = {}
        self._groups: dict[str, tuple[Callable[[T], Any], dict[Any, list[T]]]] = {}

    def _touch(self, *, regroup: bool = False) -> None:
        self.version += 1
        self._derived.clear()
        if regroup:
            self._groups.clear()

    def __setitem__(self, key: str, value: T) -> None:
        old = super().get(key)
        replacing = key in self
        super().__setitem__(key, value)
        for group_key, groups in self._groups.values():
            rows = groups.setdefault(group_key(value), [])
            if replacing:
                rows[_position(rows, old)] = value
            else:
                rows.append(value)
        self._touch()

    def __delitem__(self, key: str) -> None:
        self.pop(key)

    def pop(self, key: str, *default: Any) -> Any:  # type: ignore[override]
        """``dict.pop``, then forget the indexes."""
        present = key in self
        value = super().pop(key, *default)
        if present:
            for group_key, groups in self._groups.values():
                rows = groups[group_key(value)]
                del rows[_position(rows, value)]
            self._touch()
        return value

    def popitem(self) -> tuple[str, T]:
        """``dict.popitem``, then forget the indexes."""
        item = super().popitem()
        self._touch(regroup=True)
        return item

    def clear(self) -> None:
        """``dict.clear``, then forget the indexes."""
        super().clear()
        self._touch(regroup=True)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """``dict.update``, then forget the indexes."""
        super().update(*args, **kwargs)
        self._touch(regroup=True)

    def setdefault(self, key: str, default: T) -> T:  # type: ignore[override]
        """``dict.setdefault``, then forget the indexes."""
        if key not in self:
            self[key] = default
        return super().__getitem__(key)

    def derived(self, name: str, build: Callable[[Table[T]], D]) -> D:
        """``build(self)``, computed once per version of the table."""
        if name not in self._derived:
            self._derived[name] = build(self)
        return self._derived[name]

    def group_by(self, name: str, key: Callable[[T], K]) -> dict[K, list[T]]:
        """Rows grouped by ``key`` (insertion order kept within a group), kept as ``name``.

        Built on first use, then updated by each write rather than rebuilt.
        """
        if name not in self._groups:
            groups: dict[K, list[T]] = {}
            for row in self.values():
                groups.setdefault(key(row), []).append(row)
            self._groups[name] = (key, groups)
        return self._groups[name][1]

    def ordered(
        self, sort_key: Callable[[T], tuple[Any, ...]]
    ) -> tuple[list[tuple[Any, ...]], list[T]]:
        """Every row in ``sort_key`` order, with the keys alongside for bisecting."""

        def build(table: Table[T]) -> tuple[list[tuple[Any, ...]], list[T]]:
            pairs = sorted(((tuple(sort_key(r)), r) for r in table.values()), key=_first)
            return [k for k, _ in pairs], [r for _, r in pairs]

        return self.derived("ordered", build)


def _position(rows: list[T], row: T) -> int:
    """Where ``row`` itself (not an equal row) is in its group."""
    return next(i for i, candidate in enumerate(rows) if candidate is row)


def _first(pair: tuple[tuple[Any, ...], Any]) -> tuple[Any, ...]:
    return pair[0]
