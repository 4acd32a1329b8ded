"""How a ``SpecError`` names what does exist, so the fix is in the message."""

from __future__ import annotations

from collections.abc import Iterable


def listed(names: Iterable[str], most: int = 20) -> str:
    """Sorted names for an error message, cut short after ``most``; "none" when empty."""
    ordered = sorted(set(names))
    more = f" and {len(ordered) - most} more" if len(ordered) > most else ""
    return (", ".join(ordered[:most]) or "none") + more
