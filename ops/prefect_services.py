"""Prefect's background services in one process, each started again when it dies.

``prefect server services start`` starts every service as an asyncio task and looks at none of
them again until the process stops. A service whose start fails is gone for the life of the
process, and nothing is logged: the exception waits in its task for a shutdown that gathers it.
A first database query that times out is enough, as on a loaded machine or while PostgreSQL is
still starting. When that service is ``ReactiveTriggers``, automations see no more events.
Crash recovery then stops without a sign: a run whose worker died stays Running, and
the stack looks healthy.

Here each service runs under :class:`ServiceSupervisor`. When a service ends, an ERROR names
the service and the exception's type, and the tasks that service started are cancelled. The
service is then started again after a delay that doubles up to a minute. The exception's text
is left out: SQLAlchemy's carries the statement's parameters, which can be event payloads.
Shutdown is Prefect's: every service's ``stop()``, then its task is awaited.

The docket worker (Prefect's perpetual services, proactive triggers among them) runs beside
them as Prefect runs it; docket retries its own Redis errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import signal
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: The first delay before a dead service starts again; it doubles up to MAX_DELAY.
FIRST_DELAY = 1.0
MAX_DELAY = 60.0
#: A service that ran this long before it ended starts again after FIRST_DELAY.
HEALTHY_AFTER = 60.0


class Service(Protocol):
    """What Prefect's ``prefect.server.services.base.Service`` offers (``start`` runs until
    the service stops)."""

    async def start(self) -> Any: ...

    async def stop(self) -> None: ...


# The set of tasks the current service attempt started. A task created with it in context
# joins it: asyncio copies the context into each new task, so a service's tasks' own tasks
# join too.
_attempt_tasks: contextvars.ContextVar[set[asyncio.Task[Any]] | None] = contextvars.ContextVar(
    "prefect_service_attempt_tasks", default=None
)


def _tracking_task_factory(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
) -> asyncio.Task[Any]:
    task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, **kwargs)
    owned = _attempt_tasks.get()
    if owned is not None:
        owned.add(task)
        task.add_done_callback(owned.discard)
    return task


def _kind(error: BaseException) -> str:
    """``TimeoutError``, or ``DBAPIError from TimeoutError``: types only (module docstring)."""
    cause = error.__cause__ or error.__context__
    return type(error).__name__ + (f" from {type(cause).__name__}" if cause else "")


class ServiceSupervisor:
    """Runs services, starting each again when it ends; ``stop()`` stops them all.

    Args:
        services: The service classes (one instance is made per start).
        first_delay, max_delay, healthy_after: The restart delays (seconds).
        clock: Monotonic seconds, injectable for tests.
    """

    def __init__(
        self,
        services: Sequence[Callable[[], Service]],
        *,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        healthy_after: float = HEALTHY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.services = list(services)
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.healthy_after = healthy_after
        self.clock = clock
        #: How many times each service has been started, by its name.
        self.starts: dict[str, int] = {}
        self._running: dict[str, Service] = {}
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Run every service until :meth:`stop`; returns once all have stopped."""
        loop = asyncio.get_running_loop()
        previous = loop.get_task_factory()
        loop.set_task_factory(_tracking_task_factory)
        try:
            async with asyncio.TaskGroup() as group:
                for service_class in self.services:
                    group.create_task(self._keep_running(service_class))
        finally:
            loop.set_task_factory(previous)

    async def stop(self) -> None:
        """Stop every service as Prefect does: ``stop()`` all at once, then let each task end."""
        self._stopping.set()

        async def stop_one(name: str, service: Service) -> None:
            try:
                await service.stop()
            except Exception as error:  # a service that never started has nothing to stop
                log.debug("stopping %s: %s", name, _kind(error))

        await asyncio.gather(*(stop_one(n, s) for n, s in list(self._running.items())))

    async def _keep_running(self, service_class: Callable[[], Service]) -> None:
        name = getattr(service_class, "__name__", repr(service_class))
        delay = self.first_delay
        while not self._stopping.is_set():
            owned: set[asyncio.Task[Any]] = set()
            token = _attempt_tasks.set(owned)
            service = service_class()
            self._running[name] = service
            self.starts[name] = self.starts.get(name, 0) + 1
            started = self.clock()
            try:
                await service.start()
                ended = "ended"
            except Exception as error:
                ended = f"stopped with {_kind(error)}"
            finally:
                _attempt_tasks.reset(token)
                self._running.pop(name, None)
                # What the dead attempt left running (a listener its start created before it
                # failed, say) would run twice beside the next attempt's.
                for task in list(owned):
                    task.cancel()
                await asyncio.gather(*owned, return_exceptions=True)
            if self._stopping.is_set():
                return
            if self.clock() - started >= self.healthy_after:
                delay = self.first_delay
            log.error("Prefect service %s %s; it starts again in %g s", name, ended, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, self.max_delay)


async def run_prefect_services() -> None:
    """Prefect's services (supervised) and its docket worker, until SIGTERM or SIGINT."""
    from docket import Docket
    from prefect.server.api.background_workers import background_worker
    from prefect.server.services.base import Service as PrefectService
    from prefect.settings.context import get_current_settings

    services = PrefectService.enabled_services()
    if not services:
        raise RuntimeError("no Prefect service is enabled (PREFECT_SERVER_SERVICES_*_ENABLED)")
    supervisor = ServiceSupervisor(services)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: asyncio.ensure_future(supervisor.stop()))
    url = get_current_settings().server.docket.url
    async with (
        Docket(name="prefect", url=url, execution_ttl=timedelta(0)) as docket,
        background_worker(docket, ephemeral=False, webserver_only=False),
    ):
        log.info("Prefect services: %s", ", ".join(s.__name__ for s in services))
        await supervisor.run()
