"""``emulator.slack`` re-exports a sorted ``__all__`` of names that exist."""

from __future__ import annotations

import emulator.slack


def test_all_is_sorted_and_importable() -> None:
    names = emulator.slack.__all__
    assert names == sorted(names)
    for name in names:
        assert getattr(emulator.slack, name) is not None
