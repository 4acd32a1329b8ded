"""ServiceSupervisor with stand-in services: a service that dies starts again, the tasks its
dead start left behind are cancelled, the log names the error's type and never its text, and
stop() stops everything as Prefect does."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ops.prefect_services import ServiceSupervisor

SECRET = "password=hunter2 payload={'ssn': '123'}"


class Flaky:
    """Fails its first ``failures`` starts (after starting a listener task, as Prefect's
    ReactiveTriggers does before its first query), then runs until stopped."""

    failures = 2
    started = 0
    listeners: list[asyncio.Task[None]] = []

    def __init__(self) -> None:
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        type(self).started += 1
        type(self).listeners.append(asyncio.create_task(asyncio.sleep(3600)))
        if type(self).started <= type(self).failures:
            raise RuntimeError(SECRET) from TimeoutError()
        await self._stopped.wait()

    async def stop(self) -> None:
        self._stopped.set()


class Steady:
    stops = 0

    def __init__(self) -> None:
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        type(self).stops += 1
        self._stopped.set()


@pytest.fixture(autouse=True)
def fresh_classes() -> None:
    Flaky.started, Flaky.listeners, Steady.stops = 0, [], 0
    LongFifth.started, LongFifth.listeners, LongFifth.now = 0, [], 0.0


async def until(condition, steps: int = 5000) -> None:
    """Let the loop run until ``condition()`` holds (the restart delays are milliseconds)."""
    for _ in range(steps):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never held")


async def test_a_dead_service_starts_again_and_its_leftovers_are_cancelled(caplog):
    caplog.set_level(logging.ERROR, logger="ops.prefect_services")
    supervisor = ServiceSupervisor([Flaky, Steady], first_delay=0.001, max_delay=0.004)
    runner = asyncio.create_task(supervisor.run())
    await until(lambda: Flaky.started == 3)

    assert supervisor.starts == {"Flaky": 3, "Steady": 1}
    # The two dead starts' listeners are cancelled; the running start's is alive.
    await until(lambda: all(t.done() for t in Flaky.listeners[:2]))
    assert [t.cancelled() for t in Flaky.listeners[:2]] == [True, True]
    assert not Flaky.listeners[2].done()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "Prefect service Flaky stopped with RuntimeError from TimeoutError; "
        f"it starts again in {delay} s"
        for delay in ("0.001", "0.002")
    ]
    assert "hunter2" not in caplog.text and "ssn" not in caplog.text

    await supervisor.stop()
    await asyncio.wait_for(runner, 5)
    assert Steady.stops == 1
    assert Flaky.listeners[2].cancelled(), "the last start's tasks end with it"
    assert supervisor.starts == {"Flaky": 3, "Steady": 1}, "nothing starts after stop()"


class LongFifth(Flaky):
    """Fails six starts; its fifth runs 100 s by the injected clock before it fails."""

    failures = 6
    now = 0.0

    async def start(self) -> None:
        if LongFifth.started == 4:
            LongFifth.now += 100
        await super().start()


async def test_the_delay_doubles_to_its_cap_and_resets_after_a_long_run(caplog):
    caplog.set_level(logging.ERROR, logger="ops.prefect_services")
    supervisor = ServiceSupervisor(
        [LongFifth], first_delay=0.001, max_delay=0.004, healthy_after=100,
        clock=lambda: LongFifth.now,
    )
    runner = asyncio.create_task(supervisor.run())
    await until(lambda: LongFifth.started == 7)
    delays = [r.getMessage().rsplit(" in ", 1)[1] for r in caplog.records]
    assert delays == ["0.001 s", "0.002 s", "0.004 s", "0.004 s", "0.001 s", "0.002 s"]
    await supervisor.stop()
    await asyncio.wait_for(runner, 5)


class Returns:
    """Its start returns at once the first time, as a service whose loop ended would."""

    started = 0

    def __init__(self) -> None:
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        type(self).started += 1
        if type(self).started > 1:
            await self._stopped.wait()

    async def stop(self) -> None:
        self._stopped.set()


async def test_a_service_whose_start_returns_is_started_again(caplog):
    caplog.set_level(logging.ERROR, logger="ops.prefect_services")
    Returns.started = 0
    supervisor = ServiceSupervisor([Returns], first_delay=0.001)
    runner = asyncio.create_task(supervisor.run())
    await until(lambda: Returns.started == 2)
    assert [r.getMessage() for r in caplog.records] == [
        "Prefect service Returns ended; it starts again in 0.001 s"
    ]
    await supervisor.stop()
    await asyncio.wait_for(runner, 5)
    assert supervisor.starts == {"Returns": 2}
