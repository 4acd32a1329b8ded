"""``webhooks.__all__`` is sorted and complete (httpx's test_exported_members)."""

from __future__ import annotations

import inspect

import webhooks


def test_all_is_sorted_and_complete() -> None:
    assert webhooks.__all__ == sorted(webhooks.__all__)
    for name in webhooks.__all__:
        assert getattr(webhooks, name) is not None
    public = {
        name
        for name, value in vars(webhooks).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public == set(webhooks.__all__)
