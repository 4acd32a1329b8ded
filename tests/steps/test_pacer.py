"""The pacer's rules, on an injected clock and an injected server (fast, no Prefect): requests
are spaced as Arize counts them, from their answers; slots are never spent before the server
granted them, nor long after."""

from __future__ import annotations

import asyncio

from tasks.steps.throttle import Pacer


class Clock:
    """Time that moves only when the test moves it, or when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        target = self.now + max(0.0, seconds)
        # What is ready to run runs before a sleeper wakes, as on a real clock.
        for _ in range(10):
            await asyncio.sleep(0)
        self.now = max(self.now, target)


class Server:
    """Grants every reservation at once and remembers when."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.granted: list[tuple[float, int]] = []

    async def reserve(self, slots: int) -> float | None:
        self.granted.append((self.clock.now, slots))
        return None


def pacer(clock: Clock, server: Server, limit: int = 3, per_second: float = 3) -> Pacer:
    return Pacer("arize-api", limit, per_second, server.reserve, clock=clock, sleep=clock.sleep)


async def test_a_window_of_requests_goes_at_once_then_each_waits_a_window_after_an_answer():
    clock = Clock()
    server = Server(clock)
    gate = pacer(clock, server)  # 3 requests per second: a window of 1 s
    started: list[float] = []
    answered: list[float] = []
    answers = [asyncio.Event() for _ in range(6)]

    async def request(number: int) -> None:
        async with gate.request("GET", "/v2/users"):
            started.append(clock.now)
            await answers[number].wait()
            answered.append(clock.now)

    tries = [asyncio.ensure_future(request(n)) for n in range(6)]
    for _ in range(20):
        await asyncio.sleep(0)
    # An idle run may send a whole window at once: no wait for the first three.
    assert started == [0.0, 0.0, 0.0]
    for number, at in enumerate((0.2, 0.5, 0.6, 0.0, 0.0, 0.0)):
        clock.now = max(clock.now, at)
        answers[number].set()
        for _ in range(20):
            await asyncio.sleep(0)
    await asyncio.gather(*tries)
    # Each later request waited a window after the answer of the one three turns back: it
    # reached Arize before that answer, so the two are at least a window apart there too.
    assert len(started) == 6
    for later in range(3, 6):
        assert started[later] >= answered[later - 3] + gate.window
    assert gate.handed_out == 6 <= gate.granted == sum(n for _, n in server.granted)


async def test_requests_in_flight_together_wait_for_the_earlier_answers():
    clock = Clock()
    server = Server(clock)
    gate = pacer(clock, server)
    release = asyncio.Event()
    started: list[float] = []

    async def request() -> None:
        async with gate.request("POST", "/v2/users"):
            started.append(clock.now)
            await release.wait()

    tries = [asyncio.ensure_future(request()) for _ in range(4)]
    for _ in range(20):
        await asyncio.sleep(0)
    # Three in flight; the fourth waits for an answer, however long that takes.
    assert len(started) == 3 and not tries[3].done()
    clock.now = 0.4
    release.set()
    await asyncio.gather(*tries)
    assert started[3] >= 0.4 + gate.window


async def test_slots_left_unspent_for_long_are_not_spent_later():
    clock = Clock()
    server = Server(clock)
    gate = pacer(clock, server, limit=4, per_second=4)  # reservations of two slots

    async with gate.request("GET", "/v2/spaces"):
        pass
    await asyncio.sleep(0)
    assert gate.granted - gate.handed_out >= 1  # banked for the next request
    reservations = len(server.granted)
    clock.now = 60.0  # the run waited (an approval, a slow Prefect) with slots in hand
    async with gate.request("DELETE", "/v2/users/x"):
        pass

    assert gate.expired >= 1
    # The request after the wait ran on a slot granted after the wait.
    assert len(server.granted) > reservations and server.granted[reservations][0] == 60.0


class BucketServer(Server):
    """Prefect's rate-limit bucket: refuses a reservation it has no room for, with the
    Retry-After its API computes (slots / decay)."""

    def __init__(self, clock: Clock, limit: int, per_second: float, in_use: int) -> None:
        super().__init__(clock)
        self.limit, self.per_second = limit, per_second
        self.active, self.updated = in_use, clock.now
        self.refused = 0

    async def reserve(self, slots: int) -> float | None:
        drained = int((self.clock.now - self.updated) * self.per_second)
        active = max(0, self.active - drained)
        self.updated = self.clock.now
        if active + slots > self.limit:
            self.active = active
            self.refused += 1
            return slots / self.per_second
        self.active = active + slots
        return await super().reserve(slots)


async def test_a_run_that_starts_beside_others_takes_what_is_free_at_once_and_is_never_refused():
    clock = Clock()
    # Another run left 8 of 10 slots in use: a first reservation of a whole window (10) would
    # be refused and cost a second's Retry-After before the run's first request.
    server = BucketServer(clock, limit=10, per_second=10, in_use=8)
    gate = Pacer(
        "arize-api", 10, 10, server.reserve, in_use=8, clock=clock, sleep=clock.sleep
    )
    started: list[float] = []

    async def request() -> None:
        async with gate.request("GET", "/v2/users"):
            started.append(clock.now)

    for _ in range(5):
        await request()
    assert started[:2] == [0.0, 0.0]  # the two free slots, at once
    assert server.granted[0] == (0.0, 2)
    assert server.refused == 0
    # The rest waited for the bucket to drain, as the server counts it: never more than the
    # limit in use at any grant.
    assert all(at > 0.0 for at in started[2:])
    assert gate.handed_out == 5 <= gate.granted
