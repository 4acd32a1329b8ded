"""Where an in-process caller (``arize-runbooks run``) hears how the apply is going.

Nothing listens by default; the listener lives in a ``ContextVar``, so concurrent runs in one
process each report to their own caller. A listener must be quick and must not raise.
"""

from __future__ import annotations

from collections.abc import Awaitable
from contextvars import ContextVar
from typing import Protocol, TypeVar

from core.planning.plan import Change, Plan

T = TypeVar("T")


class ApplyListener(Protocol):
    """Receives the apply's progress: the total first, then each change as it finishes."""

    def started(self, total: int) -> None: ...

    def finished(self, change: Change, error: BaseException | None) -> None: ...


listener: ContextVar[ApplyListener | None] = ContextVar("apply_listener", default=None)
"""The current run's listener, if its caller set one."""


def planned(plan: Plan) -> None:
    """Show the listener the plan, if it wants it (a dry run's caller prints it)."""
    hook = getattr(listener.get(), "planned", None)
    if hook is not None:
        hook(plan)


def started(total: int) -> None:
    """Tell the listener how many changes the apply has."""
    current = listener.get()
    if current is not None:
        current.started(total)


async def track(change: Change, step: Awaitable[T]) -> T:
    """Await one change's step and tell the listener how it ended."""
    current = listener.get()
    try:
        result = await step
    except Exception as error:
        if current is not None:
            current.finished(change, error)
        raise
    if current is not None:
        current.finished(change, None)
    return result
