"""Pace one run's requests to Arize against the shared Prefect rate limit (``arize-api``).

The limit is a Prefect global concurrency limit with slot decay: ``limit`` slots that drain at
``slot_decay_per_second``; the Prefect server is the one place that counts them for every
worker. Asking it for one slot per change, just before the change, made a 10-member onboarding
take 50 s instead of 3 s, for two reasons found by tracing the calls:

- On a SQLite Prefect server (``prefect server start``, the README's setup) the increment
  often meets a write of the run's own task states and answers 503 (``database is locked``);
  Prefect's client then waits its generic back-off, 2 s, before asking again. That was the
  ~2 s between tasks.
- Each denied or too-early increment resets the limit's decay clock on the server (decay is
  ``floor(rate * seconds since the last update)``), so asking faster than the slots drain
  starves the limit below its rate.

So a run reserves slots in chunks (a window's worth) from the server through Prefect's
concurrency API, answers a 503 with a short retry of its own and a 423 with the server's
``Retry-After``, and spends them on its requests. The server still decides: a run gets no slot
the server did not grant, so every worker together stays within the one limit.

What a slot pays for is one request to Arize, not one change: Arize documents a 429 on every
endpoint, and a change can cost a lookup and a create, a listing several pages, a 429 or 503
its client's retry. So the pacer is an ``arize_admin`` request gate, set for the whole run
(``pace``), and every attempt of every request any of the run's clients sends takes a slot:
the plan's reads, each stage's writes, the client's retries, the verifying re-plan.

Inside the run, requests are spaced as Arize counts them (no more than ``limit`` in any
``limit / per_second`` seconds), anchored on when each answer came back, so an event loop
that is slow to send under load cannot bunch requests up at the server. A run that idled
between stages may then catch up with a burst of what the window allows, rather than losing
those slots for good.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

import httpx

from arize_admin import request_gate

MARGIN = 1.04
"""Reservations assume the server's bucket drains this much slower than its rate: the room
that absorbs jitter in the time the server sees between two reservations (its decay rounds
down)."""
CHUNK_SECONDS = 1.0
"""Each reservation covers about this many seconds of slots (at most the limit): few
reservations, so few meet a busy SQLite server. The mirror sends a reservation only once the
previous one's slots have drained, counted from its answer, so every reservation costs its
round trip on top: a whole window per reservation pays it once a window, where half a window
(as before) paid it twice, and on a loaded server (0.5 s a round trip) held a run to half its
rate."""
LAPSE_WINDOWS = 10
"""Granted slots unspent for this many windows lapse: long enough that a run's pause between
stages on a busy machine does not cost a new reservation on its critical path, short enough
that a run held at its gate does not spend minutes-old slots."""
RETRY_SECONDS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 4.0, 8.0, 16.0)
"""Waits before asking again after a 503 or a connection error, then the error is raised:
short first (a SQLite lock clears in milliseconds), then as patient as Prefect's own client
over a server restart (about 33 s in all)."""


class RateLimitMissing(RuntimeError):
    """The rate limit named in the policy does not exist on the Prefect server."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"the Prefect global concurrency limit {name!r} (the policy's rate_limit) does not "
            "exist or has no slot decay; run `arize-runbooks setup` to create it, or set "
            "rate_limit to null in the policy to run unthrottled"
        )


Reserve = Callable[[int], Awaitable[float | None]]
"""Ask the server for ``n`` slots: None when granted, else seconds to wait before asking again."""


@dataclass
class _Turn:
    """One request's slot: when its answer came back, once it has."""

    answered: asyncio.Event = field(default_factory=asyncio.Event)
    at: float = 0.0


class Pacer:
    """Spends the slots of one Prefect rate limit on one run's requests to Arize.

    An ``arize_admin.RequestGate``: each attempt of each request waits for a slot the server
    granted and for room in the window, ``limit`` requests per ``limit / per_second`` seconds
    counted from their answers. Slots come from the server in reservations of up to ``chunk``;
    the next one is made in the background while the last one's slots are being spent, as soon
    as a local mirror of the server's bucket (the same decay, a little slower) says it fits, so
    a busy server's answer rarely holds a request up and a run alone never meets a 423.

    Args:
        name: The Prefect global concurrency limit.
        limit: Its slots.
        per_second: Its slot decay per second.
        reserve: How slots are asked for (default: the Prefect API; tests inject a server).
        in_use: Slots the server's bucket holds now, by other runs (the pacer's first
            reservation asks for no more than is free, so it is not refused: a refusal costs
            at least a second's ``Retry-After`` and restarts the server's decay).
        clock: Monotonic seconds; sleep: asyncio.sleep (injectable for tests).
    """

    def __init__(
        self,
        name: str,
        limit: int,
        per_second: float,
        reserve: Reserve | None = None,
        *,
        in_use: int = 0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if limit < 1 or per_second <= 0:
            raise RateLimitMissing(name)
        self.name = name
        self.limit = limit
        self.window = limit / per_second
        """Seconds in which ``limit`` requests may reach Arize."""
        self.interval = MARGIN / per_second
        self.chunk = max(1, min(limit, math.ceil(per_second * CHUNK_SECONDS)))
        self.granted = 0
        """Slots the server granted this run."""
        self.reservations = 0
        """Increments the server accepted."""
        self.handed_out = 0
        """Slots spent on requests."""
        self.expired = 0
        """Granted slots left unspent for ``LAPSE_WINDOWS`` windows, and so not spent at all."""
        self.waited_for_window = 0.0
        """Seconds requests waited for room in the window (Arize's count)."""
        self.waited_for_server = 0.0
        """Seconds requests waited for a reservation (the Prefect server's grant)."""
        self._reserve = reserve or (lambda n: _reserve_on_server(name, n))
        self._clock = clock
        self._sleep = sleep
        self._banked = 0
        self._banked_until = 0.0
        self._recent: deque[_Turn] = deque()
        self._mirror_active = max(0, min(limit, in_use))
        self._mirror_updated = clock()
        self._refill: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def request(self, method: str, path: str) -> AsyncIterator[None]:
        """One attempt of a request: wait for its slot, send it, note when it was answered."""
        turn = await self._take_turn()
        try:
            yield
        finally:
            turn.at = self._clock()
            turn.answered.set()

    def prime(self) -> None:
        """Reserve the first slots now, while the run does other work before its first request."""
        self._start_refill()

    def close(self) -> None:
        """Stop a reservation still waiting for room (the run ended); a later request resumes."""
        if self._refill is not None and not self._refill.done():
            self._refill.cancel()
        self._refill = None

    async def _take_turn(self) -> _Turn:
        async with self._lock:
            if len(self._recent) >= self.limit:
                # The request ``limit`` turns back must have been answered a window ago: it
                # reached Arize before its answer, so this one reaches it a window after.
                oldest = self._recent.popleft()
                began = self._clock()
                await oldest.answered.wait()
                free = oldest.at + self.window
                if free > self._clock():
                    await self._sleep(free - self._clock())
                self.waited_for_window += self._clock() - began
            self._expire()
            if self._banked == 0:
                began = self._clock()
                self._start_refill()
                assert self._refill is not None
                await asyncio.shield(self._refill)
                self.waited_for_server += self._clock() - began
            self._banked -= 1
            self.handed_out += 1
            self._start_refill()
            # Last: a turn in the window must be answered, or every later one would wait on it.
            turn = _Turn()
            self._recent.append(turn)
            return turn

    def _expire(self) -> None:
        if self._banked and self._clock() > self._banked_until:
            # Granted for then, not for now: spending them late could meet another worker's
            # slots granted since, above the rate.
            self.expired += self._banked
            self._banked = 0

    def _start_refill(self) -> None:
        self._expire()
        if self._refill is not None and not self._refill.done():
            return
        if self._refill is not None and self._refill.exception() is not None:
            raise self._refill.exception()  # type: ignore[misc]
        # Keep at most two reservations' worth in hand: enough to hide a slow answer.
        if self._banked >= self.chunk:
            return
        self._refill = asyncio.ensure_future(self._take(self._next_size()))

    def _next_size(self) -> int:
        """A whole chunk, except the run's first reservation: what is free now (at least one),
        so a run that starts while others hold slots begins at once with what it may have."""
        if self.reservations:
            return self.chunk
        return max(1, min(self.chunk, self.limit - self._mirrored(self._clock())))

    async def _take(self, slots: int) -> None:
        room = self._room_at(slots)
        while True:
            if room > self._clock():
                await self._sleep(room - self._clock())
            wait = await self._reserve(slots)
            if wait is None:
                break
            room = self._clock() + wait
        now = self._clock()
        self._mirror_active = self._mirrored(now) + slots
        self._mirror_updated = now
        self.reservations += 1
        self.granted += slots
        self._banked += slots
        self._banked_until = now + self.window * LAPSE_WINDOWS

    def _mirrored(self, now: float) -> int:
        """The server's active slots as this run alone would leave them (decay rounds down)."""
        drained = math.floor((now - self._mirror_updated) / self.interval)
        return max(0, self._mirror_active - drained)

    def _room_at(self, slots: int) -> float:
        """When the mirrored bucket has room for ``slots`` more."""
        excess = self._mirrored(self._clock()) + slots - self.limit
        if excess <= 0:
            return self._clock()
        return self._mirror_updated + (self._mirror_active - self.limit + slots) * self.interval


async def _reserve_on_server(name: str, slots: int) -> float | None:
    """One increment of ``name`` by ``slots`` in rate-limit mode, on the Prefect API.

    The same request Prefect's ``rate_limit`` makes, built by Prefect's own client (its URL,
    auth headers, TLS and transport), but sent without the client's retry wrapper: that wrapper
    sleeps 2 s after a 503 whatever its retry setting, and that sleep was the gap this module
    removes. A 503 (SQLite busy) or a dropped connection is retried here after a short wait; a
    423 returns the server's ``Retry-After``.
    """
    from prefect import get_client

    body = {"names": [name], "slots": slots, "mode": "rate_limit"}
    # A client of its own (other httpx settings than the run's): a reservation made ahead may
    # still be under way when the run, and the client it would otherwise share, has ended.
    async with get_client(httpx_settings={}) as client:
        http = client._client  # the configured httpx client under PrefectClient's retries
        for pause in (*RETRY_SECONDS, None):
            request = http.build_request("POST", "/v2/concurrency_limits/increment", json=body)
            try:
                response = await httpx.AsyncClient.send(http, request)
            except httpx.TransportError:
                if pause is None:
                    raise
                await asyncio.sleep(pause)
                continue
            if response.status_code == 423:
                return float(response.headers.get("Retry-After", 1.0))
            if response.status_code == 422:  # no slot decay, or a chunk above the limit
                raise RateLimitMissing(name)
            if response.status_code in {502, 503, 504} and pause is not None:
                await asyncio.sleep(pause)
                continue
            response.raise_for_status()
            if not response.json():
                raise RateLimitMissing(name)
            return None
    raise AssertionError("unreachable")  # pragma: no cover


async def pacer_for(name: str) -> Pacer:
    """A pacer for ``name``, sized from the limit as the Prefect server has it, its bucket
    starting where the server's is (slots in use, decayed to now as the server decays them)."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            found = await client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            raise RateLimitMissing(name) from None
    if not found.active:
        raise RateLimitMissing(name)
    per_second = found.slot_decay_per_second or 0.0
    in_use = found.active_slots
    if found.updated is not None and per_second > 0:
        # The server stores the count as of its last update and decays it when read; the
        # clocks of one deployment agree closely enough, and a bucket thought emptier than it
        # is costs one refusal, as before.
        since = max(0.0, (datetime.now(UTC) - found.updated).total_seconds())
        in_use = max(0, in_use - math.floor(per_second * since))
    return Pacer(name, found.limit, per_second, in_use=in_use)


RUNS_KEPT = 32
"""Pacers kept for runs in this process (a worker's flow-run process has one; tests, many)."""

_runs: OrderedDict[tuple[UUID | None, asyncio.AbstractEventLoop | None], Pacer] = OrderedDict()


def _this_run() -> tuple[UUID | None, asyncio.AbstractEventLoop | None]:
    """The flow run; outside one (an apply called directly), the event loop instead."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is not None and context.flow_run is not None:
        # Not the loop too: a request of this run from another loop must meet its pacer (and
        # fail loudly on it), never go unpaced.
        return context.flow_run.id, None
    return None, asyncio.get_running_loop()


class _RunGate:
    """The request gate a paced run sets: its own run's pacer, and no wait anywhere else.

    A context variable set inside a flow outlives the flow in its caller's context (a test,
    a bench, a parent flow); keyed by flow run, a pacer never paces another run's requests.
    """

    def request(self, method: str, path: str) -> AbstractAsyncContextManager[None]:
        pacer = _runs.get(_this_run())
        return pacer.request(method, path) if pacer is not None else nullcontext()


RUN_GATE = _RunGate()


def of_run(run_id: UUID) -> Pacer | None:
    """The pacer of the flow run ``run_id`` in this process, if it was paced (benches read its
    counts)."""
    return next((pacer for (run, _), pacer in _runs.items() if run == run_id), None)


def prime() -> None:
    """Reserve ahead for this run's pacer, if it has one: its next requests are near (a gate
    just opened), and the reservation's round trip can overlap what comes before them."""
    pacer = _runs.get(_this_run())
    if pacer is not None:
        pacer.prime()


async def pace(name: str) -> Pacer:
    """Pace every Arize request of this flow run (its tasks included) against ``name``.

    Idempotent: a run already paced against ``name`` keeps its pacer. The first reservation
    starts at once, so it overlaps whatever the run does before its first request.
    """
    key = _this_run()
    pacer = _runs.get(key)
    if pacer is None or pacer.name != name:
        pacer = await pacer_for(name)
        pacer.prime()
        _runs[key] = pacer
        while len(_runs) > RUNS_KEPT:
            _runs.popitem(last=False)[1].close()
    request_gate.set(RUN_GATE)
    return pacer
