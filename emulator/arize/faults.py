"""Fault injection and the request journal, as one pure ASGI middleware.

Faults never apply to the control plane (``/_emulator``). For every other request, in order:

1. ``max_rps``: more than this many requests in the last second → 429 with ``Retry-After``;
2. latency: ``latency_ms`` plus a uniform ``0..latency_jitter_ms``;
3. ``rate_limit_rate``: probability of a 429 with ``Retry-After: retry_after_s``;
4. ``error_rate``: probability of one of ``error_statuses`` (500/502/503 by default);
5. ``lost_response_rate``: probability that the request is *applied* (a mutation commits) but
   the response is lost: the status line and headers go out, then the connection is closed
   before the body, so the client sees a transport error (httpx ``RemoteProtocolError``).

A request's draws depend only on the seed, its method and path, and how many requests with
that method and path came before it since the last ``configure``: so under a seed the n-th try
of ``POST /v2/api-keys/X/refresh`` meets the same fault however concurrent requests to other
paths interleave with it. (One RNG shared by every request gave each path a fault sequence
that depended on the order in which concurrent tasks happened to reach the server, so a
seeded test could pass or fail from run to run.) Requests several callers send to one path
still take its tries in their arrival order: a test that wants the same faults on every run
limits them to paths one caller uses. ``methods`` and ``path_prefix`` limit which
requests are eligible; ``max_faults`` stops injecting after that many faults (handy for "two
503s, then success"); ``max_rps`` counts real time, so it alone is not reproducible.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import time
from collections import Counter, defaultdict, deque
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulator.arize.errors import new_request_id, problem_body

__all__ = ["CONTROL_PREFIX", "EmulatorMiddleware", "FaultConfig", "FaultInjector", "RequestJournal"]

CONTROL_PREFIX = "/_emulator"


class FaultConfig(BaseModel):
    """What to inject; the zero value injects nothing.

    Attributes:
        latency_ms: Fixed delay added to every eligible request.
        latency_jitter_ms: Extra uniform random delay, 0..this.
        error_rate: Probability (0..1) of answering one of ``error_statuses``.
        error_statuses: Statuses to pick from for injected errors.
        rate_limit_rate: Probability (0..1) of answering 429.
        retry_after_s: ``Retry-After`` seconds sent with injected 429s.
        max_rps: Requests per second above which requests are answered 429.
        lost_response_rate: Probability (0..1) of applying the request and dropping the reply.
        seed: Seed of the fault RNG (None: nondeterministic).
        methods: Only these HTTP methods are eligible (None: all).
        path_prefix: Only paths under this prefix are eligible (None: all of ``/v2``).
        max_faults: Stop injecting after this many faults (None: no limit).
    """

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(0.0, ge=0)
    latency_jitter_ms: float = Field(0.0, ge=0)
    error_rate: float = Field(0.0, ge=0, le=1)
    error_statuses: list[int] = Field(default_factory=lambda: [500, 502, 503])
    rate_limit_rate: float = Field(0.0, ge=0, le=1)
    retry_after_s: float = Field(1.0, ge=0)
    max_rps: float | None = Field(None, gt=0)
    lost_response_rate: float = Field(0.0, ge=0, le=1)
    seed: int | None = None
    methods: list[str] | None = None
    path_prefix: str | None = None
    max_faults: int | None = Field(None, ge=0)

    @classmethod
    def parse_cli(cls, text: str | None) -> FaultConfig | None:
        """Parse ``--faults``: a JSON object or ``k=v`` pairs separated by commas/spaces.

        Examples:
            ``'{"error_rate": 0.1, "seed": 7}'`` or ``"error_rate=0.1,latency_ms=50,methods=GET"``.
        """
        if not text or not text.strip():
            return None
        text = text.strip()
        if text.startswith("{"):
            return cls.model_validate(json.loads(text))
        data: dict[str, Any] = {}
        for pair in text.replace(",", " ").split():
            key, _, value = pair.partition("=")
            if key in {"methods", "error_statuses"}:
                data.setdefault(key, []).extend(v for v in value.split("|") if v)
            else:
                data[key] = value
        return cls.model_validate(data)


class FaultInjector:
    """Decides, per request, which fault (if any) to inject."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        """Replace the configuration; reseeds the RNG and resets the fault count."""
        with self._lock:
            self.config = config
            # Unseeded: a fresh random salt, so each configuration injects differently.
            self._salt = config.seed if config.seed is not None else random.getrandbits(64)
            self._tries: defaultdict[tuple[str, str], int] = defaultdict(int)
            self._window: deque[float] = deque()
            self.injected = 0

    def _draws(self, method: str, path: str) -> list[float]:
        """This request's five draws: from its method, path and try number under the salt."""
        key = (method.upper(), path)
        try_number = self._tries[key]
        self._tries[key] = try_number + 1
        rng = random.Random(f"{self._salt}|{key[0]}|{path}|{try_number}")
        return [rng.random() for _ in range(5)]

    def eligible(self, method: str, path: str) -> bool:
        """Whether the request may receive a fault."""
        cfg = self.config
        if path.startswith(CONTROL_PREFIX):
            return False
        if cfg.methods is not None and method.upper() not in {m.upper() for m in cfg.methods}:
            return False
        return cfg.path_prefix is None or path.startswith(cfg.path_prefix)

    def decide(self, method: str, path: str) -> tuple[float, str | None, int, float | None]:
        """Return ``(delay_s, kind, status, retry_after)``; kind is None, "status" or "lost"."""
        with self._lock:
            cfg = self.config
            if not self.eligible(method, path):
                return 0.0, None, 0, None
            # A configuration of fixed faults only (latency, max_rps) draws nothing, so
            # a long unfaulted run keeps no count per path.
            random_faults = (
                cfg.latency_jitter_ms,
                cfg.rate_limit_rate,
                cfg.error_rate,
                cfg.lost_response_rate,
            )
            draws = self._draws(method, path) if any(random_faults) else [0.0] * 5
            delay = (cfg.latency_ms + draws[0] * cfg.latency_jitter_ms) / 1000.0
            exhausted = cfg.max_faults is not None and self.injected >= cfg.max_faults
            if cfg.max_rps is not None:
                now = time.monotonic()
                while self._window and now - self._window[0] >= 1.0:
                    self._window.popleft()
                if len(self._window) >= cfg.max_rps and not exhausted:
                    self.injected += 1
                    wait = max(0.001, 1.0 - (now - self._window[0]))
                    return 0.0, "status", 429, wait
                self._window.append(now)
            if exhausted:
                return delay, None, 0, None
            if draws[1] < cfg.rate_limit_rate:
                self.injected += 1
                return delay, "status", 429, cfg.retry_after_s
            if draws[2] < cfg.error_rate and cfg.error_statuses:
                self.injected += 1
                status = cfg.error_statuses[int(draws[3] * len(cfg.error_statuses))]
                return delay, "status", status, None
            if draws[4] < cfg.lost_response_rate:
                self.injected += 1
                return delay, "lost", 0, None
            return delay, None, 0, None


class RequestJournal:
    """Counts requests by route template (``"GET /v2/users/{user_id}"``) and by method."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self.by_route: Counter[str] = Counter()
            self.by_method: Counter[str] = Counter()
            self.total = 0

    def record(self, method: str, template: str) -> None:
        """Count one request."""
        with self._lock:
            self.total += 1
            self.by_route[f"{method} {template}"] += 1
            self.by_method[method] += 1

    def snapshot(self) -> dict[str, Any]:
        """``{"total": n, "by_route": {...}, "by_method": {...}}``."""
        with self._lock:
            return {
                "total": self.total,
                "by_route": dict(self.by_route),
                "by_method": dict(self.by_method),
            }


def _format_retry_after(seconds: float) -> str:
    # Whole seconds as an integer (what urllib3 and most clients parse); fractions kept for tests.
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:.3f}".rstrip("0")


class EmulatorMiddleware:
    """Request ids, the journal, and fault injection around the whole app."""

    def __init__(self, app: ASGIApp, templates: list[tuple[re.Pattern[str], str]]) -> None:
        self.app = app
        self.templates = templates

    def _template(self, path: str) -> str:
        for regex, template in self.templates:
            if regex.match(path):
                return template
        return path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        emulator = scope["app"].state.emulator
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        if path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        emulator.journal.record(method, self._template(path))
        delay, kind, status, retry_after = emulator.faults.decide(method, path)
        if delay > 0:
            await asyncio.sleep(delay)
        if kind == "status":
            await self._send_problem(send, status, path, request_id, retry_after)
            return
        if kind == "lost":
            await self._apply_and_drop(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)

    async def _send_problem(
        self, send: Send, status: int, path: str, request_id: str, retry_after: float | None
    ) -> None:
        detail = "Rate limit exceeded." if status == 429 else "Injected fault."
        body = json.dumps(problem_body(status, detail, path, request_id)).encode()
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
        ]
        if retry_after is not None:
            headers.append((b"retry-after", _format_retry_after(retry_after).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _apply_and_drop(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request to completion, then send only the head and return.

        uvicorn closes the connection when the app returns with the body incomplete, so the
        client never learns the outcome while the server has committed it.
        """
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        if start is None:
            return
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", b"1048576"))
        # A 204 head is a complete response; announce a body so the drop is visible.
        status = 200 if start["status"] in (204, 304) else start["status"]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": True})
