"""Turns pending inbox events into flow runs, exactly once each.

``arun_deployment(..., idempotency_key=f"{source}:{event_id}", timeout=0, as_subflow=False)``:
Prefect's database enforces the key per flow, so a second forward of the same event (a
replay, a crash between create and mark, a lease that ran out mid-forward) finds the
existing run.

Several forwarders (one per service replica) share an inbox: each pass claims its events
with a lease (:meth:`webhooks.inbox.Inbox.claim`), so each event is forwarded by one of
them; when a replica dies holding claims, another takes them once the lease ends. The
idempotency key stays the last line of defence.

Failures are sorted by whether waiting helps:

- Prefect unreachable, timeouts, 408/429/5xx: the event stays pending; the forwarder backs
  off exponentially (with jitter) and tries again, forever.
- Deployment missing, parameters refused (409/422) or any other 4xx: the event is dead, with
  Prefect's message as the reason; ``arize-runbooks inbox replay`` retries it after a fix.
- Anything unexpected: retried with backoff up to ``max_attempts``, then dead.
- Parameters holding a NUL character or a lone surrogate (the inbox stores them; Prefect
  cannot: a lone surrogate is not UTF-8 and PostgreSQL refuses NUL): dead before any call,
  with the parameter's path as the reason, never retried in a loop.

Events of a route with ``batch:`` are grouped per pass and sent as one run per batch
(:mod:`webhooks.batching`): the batch is written to the inbox first, and its key is the run's
idempotency key; a failure retries, or dead-letters, the whole batch. An event that cannot be
routed or sent is dead alone, before any batch is formed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
from prefect.context import SettingsContext, get_settings_context
from prefect.deployments import arun_deployment
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.settings import PREFECT_CLIENT_MAX_RETRIES

from webhooks import batching, pgtext
from webhooks.evidence.delivery import SiemDelivery
from webhooks.evidence.sinks import DeliveryFailed
from webhooks.evidence.store import SIEM_SOURCE
from webhooks.inbox import Inbox
from webhooks.inbox_records import EventStatus, InboxEvent
from webhooks.routing import Batch, Router, Unroutable

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from prefect.settings import Settings

    from webhooks.metrics import Metrics

logger = logging.getLogger("webhooks.forwarder")

_TRANSIENT_STATUSES = frozenset({408, 425, 429})


class _Transient(Exception):
    pass


class _Permanent(Exception):
    pass


@dataclass
class ForwardSummary:
    """What one pass did."""

    forwarded: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    #: Events of a batch not full yet, given back until their route's ``wait_seconds`` ends.
    held: list[int] = field(default_factory=list)
    #: Flow runs asked for (a batch is one): the run id each time.
    runs: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Events looked at (held ones aside: they are not due again before their wait ends)."""
        return len(self.forwarded) + len(self.retrying) + len(self.dead)


def route_event(router: Router, event: InboxEvent) -> tuple[str, dict[str, object]]:
    """Route a stored event (raises :class:`~webhooks.routing.Unroutable`)."""
    routed = router.route(
        source=event.source,
        event_id=event.event_id,
        event_type=event.event_type,
        payload=event.payload,
        delivery_id=event.delivery_id,
    )
    return routed.deployment, routed.parameters


def _classify(exc: BaseException) -> type[Exception]:
    if isinstance(exc, ObjectNotFound):
        return _Permanent
    if isinstance(exc, PrefectHTTPStatusError | httpx.HTTPStatusError):
        code = exc.response.status_code
        if code >= 500 or code in _TRANSIENT_STATUSES:
            return _Transient
        return _Permanent
    if isinstance(exc, httpx.TransportError | OSError | asyncio.TimeoutError):
        return _Transient
    return Exception


def _describe(exc: BaseException, deployment: str) -> str:
    if isinstance(exc, ObjectNotFound):
        return f"deployment {deployment!r} not found"
    if isinstance(exc, PrefectHTTPStatusError | httpx.HTTPStatusError):
        response = exc.response
        try:
            body = response.json()
            detail = body.get("detail", body) if isinstance(body, dict) else body
        except ValueError:
            detail = response.text
        return f"Prefect refused the run ({response.status_code}): {str(detail)[:1000]}"
    return f"{type(exc).__name__}: {str(exc)[:1000] or 'no message'}"


class Forwarder:
    """Creates the flow run of every pending event.

    Args:
        inbox: The open inbox.
        router: Routes events stored without a deployment (replays).
        client: An open Prefect client (``None``: Prefect's settings decide, per call).
        concurrency: Flow runs created at once.
        batch_size: Events looked at per pass.
        poll_seconds: Idle wait between passes when nothing wakes the forwarder.
        backoff_base: First delay after a transient failure.
        backoff_max: Longest delay.
        max_attempts: Unexpected errors after which an event is dead.
        client_retries: Retries inside the Prefect client per request. Kept low: its
            backoff would hold a pass for ~30 s while Prefect is down, and this loop
            retries anyway.
        lease_seconds: How long a claim holds; after that another replica may take the
            event. Far longer than a pass (a flow run is created in milliseconds).
        name: This forwarder's name in ``claimed_by`` (default: host, pid and a random tag).
        metrics: Where forward outcomes and lag are counted.
        siem: Delivers the evidence chain's OCSF events (outbox rows of source ``siem``).
    """

    def __init__(
        self,
        inbox: Inbox,
        router: Router,
        client: PrefectClient | None = None,
        *,
        concurrency: int = 8,
        batch_size: int = 100,
        poll_seconds: float = 5.0,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        max_attempts: int = 20,
        client_retries: int = 0,
        lease_seconds: float = 60.0,
        name: str | None = None,
        metrics: Metrics | None = None,
        siem: SiemDelivery | None = None,
    ) -> None:
        self.inbox = inbox
        self.router = router
        self.client = client
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_attempts = max_attempts
        self.client_retries = client_retries
        self.lease_seconds = lease_seconds
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.metrics = metrics
        self.siem = siem
        self._wake = asyncio.Event()
        self._failures = 0  # consecutive passes that hit a transient failure
        self._settings_base: Settings | None = None
        self._settings: Settings | None = None

    def client_settings(self) -> SettingsContext:
        """The current Prefect settings with ``client_retries`` as the client's retries, for a
        pass to enter: what ``temporary_settings`` gives, derived once per base settings.

        Deriving them copies and validates every Prefect setting, about 40 ms of CPU, and every
        pass that claimed events did it; the base (the process's settings, or a caller's
        ``temporary_settings``) rarely changes, and Prefect never changes a settings object in
        place.
        """
        current = get_settings_context()
        if self._settings is None or self._settings_base is not current.settings:
            self._settings = current.settings.copy_with_update(
                updates={PREFECT_CLIENT_MAX_RETRIES: self.client_retries}
            )
            self._settings_base = current.settings
        return SettingsContext(profile=current.profile, settings=self._settings)

    def wake(self) -> None:
        """Ask the running loop for a pass now (a new event arrived)."""
        self._wake.set()

    def _backoff(self, attempts: int) -> float:
        delay = min(self.backoff_max, self.backoff_base * 2 ** max(attempts - 1, 0))
        return delay * random.uniform(0.5, 1.0)

    async def forward_once(self, ids: list[int] | None = None) -> ForwardSummary:
        """One pass over the due pending events (or just ``ids``, if they are pending).

        Returns:
            Which events were forwarded, left pending for a retry, or moved to the dead letters.
        """
        events = await self.inbox.claim(
            self.name,
            limit=self.batch_size if ids is None else len(ids),
            lease_seconds=self.lease_seconds,
            ids=ids,
        )
        summary = ForwardSummary()
        if not events:
            return summary
        semaphore = asyncio.Semaphore(self.concurrency)
        prefect_down = asyncio.Event()

        async def prepare(event: InboxEvent) -> InboxEvent | None:
            async with semaphore:
                return await self._prepare(event, summary)

        async def deliver(event: InboxEvent) -> None:
            async with semaphore:
                await self._deliver_siem(event, summary)

        async def one(event: InboxEvent) -> None:
            async with semaphore:
                if prefect_down.is_set():
                    # No use knocking while Prefect is away; retry with the others later.
                    await self._retry(event, "not attempted: Prefect unreachable", summary)
                    return
                outcome = await self._forward(event, summary)
                if outcome is _Transient:
                    prefect_down.set()

        async def batch(key: str, members: list[InboxEvent] | None = None) -> None:
            async with semaphore:
                if members is not None and not await self.inbox.assign_batch(
                    self.name, key, [m.id for m in members]
                ):
                    # Our lease ran out and another forwarder took one of them: theirs now.
                    logger.info("batch %s not formed: its events were claimed elsewhere", key)
                    return
                if prefect_down.is_set():
                    await self._retry_batch(key, "not attempted: Prefect unreachable", summary)
                    return
                if await self._forward_batch(key, summary) is _Transient:
                    prefect_down.set()

        with self.client_settings():
            # gather copies this context into each task, setting included.
            siem = [event for event in events if event.source == SIEM_SOURCE]
            prepared = await asyncio.gather(
                *(prepare(event) for event in events if event.source != SIEM_SOURCE)
            )
            singles, resumed, groups = self._plan([e for e in prepared if e is not None])
            work = [deliver(event) for event in siem]
            work.extend(batch(key) for key in resumed)
            work.extend(one(event) for event in singles)
            for route_batch, members in groups:
                for part in await self._held(route_batch, members, ids is not None, summary):
                    work.append(batch(batching.new_key(part, route_batch), part))
            await asyncio.gather(*work)
        self._failures = self._failures + 1 if prefect_down.is_set() else 0
        return summary

    def _plan(
        self, events: list[InboxEvent]
    ) -> tuple[list[InboxEvent], list[str], list[tuple[Batch, list[InboxEvent]]]]:
        """Sort a pass's routed events: forwarded alone, resuming a batch already written
        (by its key, once however many of its events were claimed), or grouped for new
        batches (each group: its route's batch settings and its events in inbox order)."""
        singles: list[InboxEvent] = []
        resumed: dict[str, None] = {}
        groups: dict[str, tuple[Batch, list[InboxEvent]]] = {}
        for event in events:
            if event.batch_key is not None:
                resumed[event.batch_key] = None
                continue
            found = self.router.matching_route(
                source=event.source,
                event_id=event.event_id,
                event_type=event.event_type,
                payload=event.payload,
                delivery_id=event.delivery_id,
            )
            # The route decides today; the stored parameters were rendered when the event
            # arrived, maybe by another routing file: batched only if they still fit it.
            if (
                found is None
                or found[1].batch is None
                or found[1].deployment != event.deployment
                or event.parameters is None
                or batching.items_at(event.parameters, found[1].batch.path) is None
            ):
                singles.append(event)
                continue
            label, route = found
            assert route.batch is not None and event.deployment is not None
            key = batching.group_key(label, event.deployment, event.parameters, route.batch)
            groups.setdefault(key, (route.batch, []))[1].append(event)
        ordered = [(b, sorted(members, key=lambda e: e.id)) for b, members in groups.values()]
        return singles, list(resumed), ordered

    async def _held(
        self, batch: Batch, members: list[InboxEvent], replay: bool, summary: ForwardSummary
    ) -> list[list[InboxEvent]]:
        """The group cut into batches; the last one, if not full and its route waits for
        more, is given back until its first event has waited ``wait_seconds``.

        Events arriving one at a time are each claimed by a pass of their own: each would be
        held until its own wait ended, and come due alone. So a new hold ends with the
        earliest one already waiting, when that is sooner: everything held meanwhile comes due
        at once, and is claimed, and batched, together."""
        parts = batching.cut(members, batch)
        if replay or batch.wait_seconds <= 0 or not parts:
            return parts
        last = parts[-1]
        filled = sum(len(batching.items_at(e.parameters or {}, batch.path) or []) for e in last)
        now = datetime.now(UTC)
        until = min(e.received_at for e in last) + timedelta(seconds=batch.wait_seconds)
        if filled >= batch.max_items or until <= now:
            return parts
        waiting = await self.inbox.next_hold_ends(now=now)
        if waiting is not None and waiting < until:
            until = waiting
        await self.inbox.hold(self.name, [e.id for e in last], until)
        summary.held.extend(e.id for e in last)
        return parts[:-1]

    async def _retry(self, event: InboxEvent, error: str, summary: ForwardSummary) -> None:
        delay = self._backoff(event.attempts + 1)
        at = datetime.now(UTC) + timedelta(seconds=delay)
        await self.inbox.mark_retry(event.id, error, at)
        summary.retrying.append(event.id)
        self._count("retry")

    async def _deliver_siem(self, event: InboxEvent, summary: ForwardSummary) -> None:
        try:
            if self.siem is None:
                raise DeliveryFailed("no SIEM sink is configured in this service", transient=True)
            await self.siem.deliver(event)
        except DeliveryFailed as exc:
            if exc.transient:
                await self._retry(event, str(exc), summary)
                return
            await self.inbox.mark_dead(event.id, str(exc))
            summary.dead.append(event.id)
            logger.warning("evidence event %s dead: %s", event.event_id, exc)
            return
        await self.inbox.mark_forwarded(event.id, event.event_type)
        summary.forwarded.append(event.id)

    def _count(self, outcome: str, event: InboxEvent | None = None) -> None:
        if self.metrics is not None:
            self.metrics.forwarded(outcome, event.received_at if event is not None else None)

    async def _prepare(self, event: InboxEvent, summary: ForwardSummary) -> InboxEvent | None:
        """The event with its deployment and parameters (routed now if stored without), or
        None once it is dead: unroutable, or holding what Prefect cannot store. Either way it
        goes alone, before any batch is formed, so one bad event never takes others down."""
        deployment, parameters = event.deployment, event.parameters
        if deployment is None or parameters is None:
            try:
                deployment, parameters = route_event(self.router, event)
            except Unroutable as exc:
                await self.inbox.mark_dead(event.id, exc.reason, attempted=False)
                summary.dead.append(event.id)
                self._count("unroutable")
                logger.warning("event %s:%s dead: %s", event.source, event.event_id, exc.reason)
                return None
            await self.inbox.set_route(event.id, deployment, parameters)
        unsendable = pgtext.first_unstorable(parameters)
        if unsendable is not None:
            reason = (
                f"parameter {unsendable}, which Prefect cannot store; fix the sender or the "
                f"route's template, then `arize-runbooks inbox replay {event.id}`"
            )
            await self.inbox.mark_dead(event.id, reason, attempted=False)
            summary.dead.append(event.id)
            self._count("dead")
            logger.warning("event %s:%s dead: %s", event.source, event.event_id, reason)
            return None
        return event.model_copy(update={"deployment": deployment, "parameters": parameters})

    async def _forward(self, event: InboxEvent, summary: ForwardSummary) -> type[Exception] | None:
        deployment, parameters = event.deployment, event.parameters
        assert deployment is not None and parameters is not None  # _prepare routed it
        try:
            flow_run = await arun_deployment(
                deployment,
                client=self.client,
                parameters=parameters,
                idempotency_key=event.idempotency_key,
                timeout=0,
                as_subflow=False,
            )
        except Exception as exc:
            kind = _classify(exc)
            reason = _describe(exc, deployment)
            if kind is _Permanent or (
                kind is Exception and event.attempts + 1 >= self.max_attempts
            ):
                await self.inbox.mark_dead(event.id, reason)
                summary.dead.append(event.id)
                self._count("dead")
                logger.warning("event %s:%s dead: %s", event.source, event.event_id, reason)
                return _Permanent
            await self._retry(event, reason, summary)
            logger.info("event %s:%s will be retried: %s", event.source, event.event_id, reason)
            return _Transient if kind is _Transient else None
        await self.inbox.mark_forwarded(event.id, str(flow_run.id))
        summary.forwarded.append(event.id)
        summary.runs.append(str(flow_run.id))
        self._count("forwarded", event)
        logger.info(
            "event %s:%s -> %s flow run %s",
            event.source,
            event.event_id,
            deployment,
            flow_run.id,
        )
        return None

    async def _retry_batch(self, key: str, error: str, summary: ForwardSummary) -> None:
        attempts = [e.attempts for e in await self.inbox.batch(key)]
        at = datetime.now(UTC) + timedelta(seconds=self._backoff(max(attempts, default=0) + 1))
        for event in await self.inbox.mark_batch_retry(key, error, at):
            summary.retrying.append(event.id)
            self._count("retry")

    async def _dead_batch(self, key: str, reason: str, summary: ForwardSummary) -> None:
        for event in await self.inbox.mark_batch_dead(key, reason):
            summary.dead.append(event.id)
            self._count("dead")
        logger.warning("batch %s dead: %s", key, reason)

    async def _forward_batch(self, key: str, summary: ForwardSummary) -> type[Exception] | None:
        """Create (or find) the run of the batch ``key`` from what the inbox holds of it, and
        mark its pending events forwarded. The same code path first time and after a crash:
        the batch is always read back from the inbox, so both ask Prefect for the same run."""
        members = await self.inbox.batch(key)
        pending = [m for m in members if m.status is EventStatus.PENDING]
        if not pending:
            return None  # another forwarder finished it meanwhile
        routed = []
        for member in members:
            if member.parameters is None or member.deployment is None:
                # Replayed, not yet routed by whoever claimed it: routed here, in memory.
                try:
                    deployment, parameters = route_event(self.router, member)
                except Unroutable:
                    continue
                member = member.model_copy(
                    update={"deployment": deployment, "parameters": parameters}
                )
            routed.append(member)
        if not routed:
            await self._dead_batch(key, "no event of the batch can be routed", summary)
            return _Permanent
        deployment = routed[0].deployment
        assert deployment is not None
        try:
            parameters = batching.run_parameters(routed, batching.items_path(key), key)
        except ValueError as exc:
            await self._dead_batch(key, f"batch cannot be rebuilt: {exc}", summary)
            return _Permanent
        unsendable = pgtext.first_unstorable(parameters)
        if unsendable is not None:  # pragma: no cover - each event was checked on its own
            reason = f"parameter {unsendable}, which Prefect cannot store"
            await self._dead_batch(key, reason, summary)
            return _Permanent
        try:
            flow_run = await arun_deployment(
                deployment,
                client=self.client,
                parameters=parameters,
                idempotency_key=key,
                timeout=0,
                as_subflow=False,
            )
        except Exception as exc:
            kind = _classify(exc)
            reason = _describe(exc, deployment)
            tried = max(m.attempts for m in pending) + 1
            if kind is _Permanent or (kind is Exception and tried >= self.max_attempts):
                await self._dead_batch(key, reason, summary)
                return _Permanent
            await self._retry_batch(key, reason, summary)
            logger.info("batch %s will be retried: %s", key, reason)
            return _Transient if kind is _Transient else None
        marked = await self.inbox.mark_batch_forwarded(key, str(flow_run.id))
        summary.runs.append(str(flow_run.id))
        for event in marked:
            summary.forwarded.append(event.id)
            self._count("forwarded", event)
        if self.metrics is not None and marked:
            self.metrics.batched(len(members))
        logger.info(
            "batch %s (%d events) -> %s flow run %s", key, len(members), deployment, flow_run.id
        )
        return None

    async def run(self) -> None:
        """Forward until cancelled: a pass on every wake-up, when an event falls due, or
        every ``poll_seconds`` at the latest."""
        while True:
            self._wake.clear()
            try:
                summary = await self.forward_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The inbox itself failed (database away); keep the loop alive and back off.
                logger.exception("forward pass failed")
                self._failures += 1
                summary = ForwardSummary()
            wait = self.poll_seconds
            if summary.total >= self.batch_size and not summary.retrying:
                wait = 0.0  # more are waiting
            else:
                with contextlib.suppress(Exception):
                    due = await self.inbox.next_due_at()
                    if due is not None:
                        wait = min(wait, max(0.0, (due - datetime.now(UTC)).total_seconds()))
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
