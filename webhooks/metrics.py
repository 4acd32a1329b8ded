"""Prometheus figures of the webhook service, served at ``/metrics``.

Two kinds: what this process saw (deliveries by source and HTTP status, forward attempts by
outcome, forward lag), counted as it happens; and what the inbox holds (depth, claims, dead
letters, age of the oldest pending event, events by source and status), read from the
database at scrape time, so every replica reports the same, whole-inbox figures. Each app
has its own registry: several services in one process (tests) never share counters. Under
``serve --workers N`` the workers' counters are kept in files (prometheus-client's
multiprocess mode) and a scrape adds them up.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from webhooks.inbox_records import InboxStats

#: Label values besides the webhook sources': Slack's interactivity.
_OTHER_LABELS = frozenset({"slack"})

#: Where prometheus-client keeps the counters of several processes (its multiprocess mode).
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def source_labels() -> frozenset[str]:
    """The sources with their own label value; any other path under /webhooks/ counts as
    "other", so a scanner cannot grow the label set without bound."""
    # Imported here: the sources import the receiver, which imports this module.
    from webhooks.sources import SOURCES

    return frozenset(SOURCES) | _OTHER_LABELS

router = APIRouter(tags=["health"])


class Metrics:
    """The service's metric families, in a registry of their own.

    Args:
        multiprocess_dir: Where the workers of one ``serve`` keep their counters; default:
            ``PROMETHEUS_MULTIPROC_DIR``, unset for one process.
    """

    def __init__(self, multiprocess_dir: str | None = None) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "arize_webhook_deliveries",
            "Webhook deliveries answered, by source and HTTP status.",
            ["source", "status"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "arize_webhook_ack_seconds",
            "Time from request to answer of webhook deliveries.",
            ["source"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.events = Counter(
            "arize_webhook_events",
            "Events of accepted deliveries, by source and outcome (pending, dead, duplicate).",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.unstorable_events = Counter(
            "arize_webhook_unstorable_events",
            "Events the inbox database refused for their content (answered 422, not 503: "
            "the database is up, this event cannot be stored).",
            ["source"],
            registry=self.registry,
        )
        self.forward_attempts = Counter(
            "arize_webhook_forward_attempts",
            "Flow-run creations attempted by this replica's forwarder, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.forward_lag = Histogram(
            "arize_webhook_forward_lag_seconds",
            "Time from an event's arrival to its flow run's creation.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "arize_webhook_batch_events",
            "Events per flow run this replica's forwarder created for a batching route.",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
            registry=self.registry,
        )
        # Whole-inbox figures, made at scrape time from the inbox's answer: never kept per
        # process, so several workers of one replica (multiprocess mode) report them once.
        self.inbox = InboxFigures()
        self.registry.register(self.inbox)
        # Set by `serve --workers N` for its workers: each writes its counters to files there,
        # and a scrape, whichever worker answers it, adds up all of them.
        directory = multiprocess_dir or os.environ.get(MULTIPROCESS_DIR)
        self._exposed = self.registry  # what a scrape reads, made once
        if directory:
            self._exposed = CollectorRegistry()
            MultiProcessCollector(self._exposed, path=directory)
            self._exposed.register(self.inbox)

    def delivered(self, source: str, status: int, seconds: float) -> None:
        """Count one answered delivery."""
        self.deliveries.labels(source=source, status=str(status)).inc()
        self.ack_seconds.labels(source=source).observe(seconds)

    def stored(self, source: str, outcome: str) -> None:
        """Count one event of an accepted delivery."""
        self.events.labels(source=source, outcome=outcome).inc()

    def unstorable(self, source: str, count: int = 1) -> None:
        """Count events refused because the database cannot store them (not because it is
        down): they are answered 422 and never counted among the 503s."""
        self.unstorable_events.labels(source=source).inc(count)

    def forwarded(self, outcome: str, received_at: datetime | None = None) -> None:
        """Count one forward attempt; a created run also records its lag."""
        self.forward_attempts.labels(outcome=outcome).inc()
        if received_at is not None:
            lag = (datetime.now(UTC) - received_at).total_seconds()
            self.forward_lag.observe(max(0.0, lag))

    def batched(self, events: int) -> None:
        """Record the size of one batch whose run was created (its events are counted one
        by one by :meth:`forwarded`)."""
        self.batch_size.observe(events)

    def set_inbox(self, stats: InboxStats | None) -> None:
        """The inbox's figures for the next scrape (``None``: the inbox did not answer)."""
        self.inbox.stats(stats)

    def render(self) -> bytes:
        """The text exposition format: this process's counters, or every worker's."""
        return generate_latest(self._exposed)


class InboxFigures(Collector):
    """What the inbox holds, as gauges: depth, claims, dead letters, age of the oldest pending
    event, events by source and status, and whether the inbox answered the last scrape."""

    def __init__(self) -> None:
        self._stats: InboxStats | None = None
        self._up = 0.0

    def stats(self, stats: InboxStats | None) -> None:
        """Keep ``stats`` for the scrape; ``None`` keeps the last figures, with up=0."""
        self._up = 0.0 if stats is None else 1.0
        if stats is not None:
            self._stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self._stats
        events = GaugeMetricFamily(
            "arize_webhook_inbox_events", "Events in the inbox, by source and status.",
            labels=["source", "status"],
        )  # fmt: skip
        for source, statuses in (stats.by_source_status if stats else {}).items():
            for status, count in statuses.items():
                events.add_metric([source, status], count)
        yield events
        if stats is not None:
            yield GaugeMetricFamily(
                "arize_webhook_inbox_depth", "Pending events (waiting for their flow run).",
                value=stats.pending,
            )  # fmt: skip
            yield GaugeMetricFamily(
                "arize_webhook_inbox_claimed",
                "Pending events a forwarder holds a lease on right now.", value=stats.claimed,
            )  # fmt: skip
            yield GaugeMetricFamily(
                "arize_webhook_dead_letters", "Events in the dead letters.", value=stats.dead
            )
            yield GaugeMetricFamily(
                "arize_webhook_oldest_pending_seconds",
                "Age of the oldest pending event: the forward lag right now.",
                value=stats.oldest_pending_age_seconds,
            )
        yield GaugeMetricFamily(
            "arize_webhook_inbox_up",
            "1 when the inbox answered the last scrape, 0 when it did not.", value=self._up,
        )  # fmt: skip


class DeliveryMetrics:
    """ASGI middleware counting every answer under ``/webhooks/<source>`` (plain ASGI, not
    ``BaseHTTPMiddleware``: no extra task per request on the acknowledgement path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.sources = source_labels()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/webhooks/") or scope.get("method") == "GET":
            await self.app(scope, receive, send)
            return
        name = path.removeprefix("/webhooks/").split("/", 1)[0]
        source = name if name in self.sources else "other"
        started = time.perf_counter()
        status = 500  # an exception before the response starts is answered 500

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            self.metrics.delivered(source, status, time.perf_counter() - started)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """This replica's counters and the inbox's current figures (text exposition format)."""
    state: Any = request.app.state
    collected: Metrics = state.metrics
    try:
        stats = await state.inbox.stats()
    except Exception:  # a scrape while the database is away still answers, with up=0
        stats = None
    collected.set_inbox(stats)
    return Response(collected.render(), media_type=CONTENT_TYPE_LATEST)
