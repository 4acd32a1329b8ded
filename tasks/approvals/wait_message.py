"""The message on a waiting gate's Paused or Suspended state, which the Prefect UI shows.

Prefect's ``apause_flow_run``/``asuspend_flow_run`` take no state message, yet the message is
the one line the run's page shows while it waits: who may approve, by when, and why the last
answer did not count. Re-implementing those functions would copy Prefect's input-keyset and
polling logic, so this wraps only the two state constructors they call: inside
:func:`waiting_with_message`, the states they propose carry ``message``. A context variable
keeps it to the caller's own task, so concurrent flows in one process never mix messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import prefect.flow_runs
import prefect.states

_MESSAGE: ContextVar[str | None] = ContextVar("gate_wait_message", default=None)


def current() -> str | None:
    """The message the current gate's waiting states carry, if one is set."""
    return _MESSAGE.get()


def _with_message(build: Callable[..., Any]) -> Callable[..., Any]:
    def state(*args: Any, **kwargs: Any) -> Any:
        message = _MESSAGE.get()
        if message is not None and kwargs.get("message") is None:
            kwargs["message"] = message
        return build(*args, **kwargs)

    state.__wrapped__ = build  # type: ignore[attr-defined]
    return state


def _install() -> None:
    if not hasattr(prefect.flow_runs.Paused, "__wrapped__"):
        prefect.flow_runs.Paused = _with_message(prefect.states.Paused)  # type: ignore[attr-defined]
    if not hasattr(prefect.flow_runs.Suspended, "__wrapped__"):
        prefect.flow_runs.Suspended = _with_message(prefect.states.Suspended)  # type: ignore[attr-defined]


@contextmanager
def waiting_with_message(message: str) -> Iterator[None]:
    """Give every Paused or Suspended state proposed in this block ``message``."""
    _install()
    token = _MESSAGE.set(message)
    try:
        yield
    finally:
        _MESSAGE.reset(token)
