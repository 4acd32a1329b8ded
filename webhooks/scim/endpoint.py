"""``/scim/v2``: each request authenticated, served by scim2-server's handler over the SCIM
store (which commits each change with its inbox event), then recorded, counted and
answered."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from scim2_models import SCIMException, UnauthorizedException
from scim2_server.handler import AsyncScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.routing import Operation
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Receive, Scope, Send

from webhooks.refusals import reason_of
from webhooks.scim import tables, tokens
from webhooks.scim.provider import Service, build_provider
from webhooks.scim.publisher import Publisher
from webhooks.scim.settings import ScimSettings
from webhooks.scim.store import Change, ScimStore, VersionConflict, committed
from webhooks.scim.warmup import warm_up

logger = logging.getLogger("webhooks.scim")

PREFIX = "/scim/v2"

#: Times a request is served again after another replica changed its resource mid-way
#: (within a replica, writes of one resource wait on each other instead).
_RETRIES = 10

#: Most SCIM root URLs remembered (see :meth:`ScimEndpoint._base_url`).
_MOST_BASE_URLS = 64


class Unavailable(SCIMException):
    """The service database cannot be reached: 503, and the IdP retries later."""

    status = 503
    scim_type = None
    _default_detail = "the service database is unavailable; retry later"


class ScimMetrics:
    """SCIM requests by operation and status, and their duration, in the service's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "arize_scim_requests",
            "SCIM requests answered, by operation (create, query, search, patch, replace, "
            "delete, discovery) and HTTP status.",
            ["op", "status"],
            registry=registry,
        )
        self.seconds = Histogram(
            "arize_scim_request_seconds",
            "Time from a SCIM request to its answer, by operation.",
            ["op"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=registry,
        )
        # Each request's children, found once: ``labels()`` takes a lock and checks its
        # arguments every call. Bounded: a handful of operations and statuses.
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}

    def observe(self, op: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        children = self._children.get((op, status))
        if children is None:
            children = self._children[op, status] = (
                self.requests.labels(op=op, status=str(status)),
                self.seconds.labels(op=op),
            )
        counter, timer = children
        counter.inc()
        timer.observe(seconds)


class ScimEndpoint:
    """The SCIM service provider of one process."""

    def __init__(
        self,
        engine: AsyncEngine,
        publisher: Publisher,
        settings: ScimSettings,
        metrics: ScimMetrics | None = None,
    ) -> None:
        provider = build_provider()
        self.service = Service(provider)
        self.models = {rt.name: provider.model_for(rt.name) for rt in provider.resource_types}
        self.store = ScimStore(
            engine, self.models, max_members=settings.max_members, publication=publisher
        )
        self.handler = AsyncScimHandler(self.service, self.store)
        self.engine = engine
        self.publisher = publisher
        self.settings = settings
        self.metrics = metrics
        self.tokens = tokens.TokenCache(settings.token_cache_seconds)
        # Writes of one resource in this process, one at a time: a group push sends many
        # PATCHes of one group at once, and each would otherwise retry on the others' writes.
        self._writing: dict[str, tuple[asyncio.Lock, int]] = {}
        # The request log is bookkeeping: written in one transaction every flush, not one
        # each per request (a commit each doubled a create's latency).
        self._log_rows: list[dict[str, Any]] = []
        self._base_urls: dict[tuple[Any, ...], str] = {}
        #: The model classes the libraries built while warming up (see :meth:`warm_up`).
        self.kept: frozenset[type[Any]] = frozenset()

    async def warm_up(self) -> None:
        """Build, once and for good, the classes the libraries parametrize per request
        (:mod:`webhooks.scim.warmup`); call it before the start-up heap is frozen. A failure
        is logged, not raised: the service serves the same answers without it, only slower."""
        try:
            self.kept = await warm_up(self.service, self.models)
        except Exception as exc:
            logger.warning("SCIM warm-up failed (%s); serving without it", type(exc).__name__)

    def _operation(self, request: ScimRequest) -> str:
        try:
            operation = self.service.match(request).operation
        except SCIMException:
            return "unknown"
        if operation in {
            Operation.service_provider_config,
            Operation.resource_types,
            Operation.resource_type,
            Operation.schemas,
            Operation.schema,
        }:
            return "discovery"
        return str(operation.value)

    async def serve(self, request: Request) -> Response:
        started = time.perf_counter()
        scim_request = ScimRequest(
            method=request.method,
            base_url=self._base_url(request),
            path=request.url.path.removeprefix(PREFIX).removesuffix(".scim") or "/",
            query=dict(parse_qsl(request.url.query, keep_blank_values=True)),
            headers=list(request.headers.items()),
        )
        operation = self._operation(scim_request)
        token_name: str | None = None
        changes: list[Change] = []
        body = await request.body()
        if len(body) > self.settings.max_body_bytes:
            response = self.service.error_response(self.service.payload_too_large(
                self.settings.max_body_bytes
            ))  # fmt: skip
        elif operation != "discovery" or scim_request.path.strip("/") != "ServiceProviderConfig":
            try:
                # From the token cache; a miss is one read, shared by the requests missing
                # at the same moment. The request's own reads then go through the store's
                # readers like every other read.
                token_name = await tokens.authenticate(
                    self.engine, request.headers.get("authorization"), cache=self.tokens
                )
            except (SQLAlchemyError, OSError) as exc:
                logger.error("SCIM token check failed: %s", reason_of(exc))
                response = self.service.error_response(Unavailable())
            else:
                if token_name is None:
                    response = self.service.error_response(
                        UnauthorizedException(detail="a valid bearer token is required")
                    )
                else:
                    scim_request.body = body
                    response, changes = await self._handle(scim_request)
        else:
            response, changes = await self._handle(scim_request)
        self._log_rows.append(
            {
                "at": datetime.now(UTC),
                "token": token_name,
                "method": request.method[:8],
                # The path only: a query string may hold a filter on a person's e-mail.
                "path": request.url.path[:512],
                "status": int(response.status),
                "event_ids": [c.event_id for c in changes],
            }
        )
        response.headers.setdefault("Cache-Control", "no-cache")
        if self.metrics is not None:
            self.metrics.observe(operation, int(response.status), time.perf_counter() - started)
        if int(response.status) == 503:
            response.headers["Retry-After"] = "30"
        content = b"" if response.body is None else json.dumps(response.body).encode()
        return Response(content, status_code=int(response.status), headers=response.headers)

    def _base_url(self, request: Request) -> str:
        """The SCIM root's URL, from the request's scheme, server, ``Host`` and root path as
        Starlette makes a base URL; made once per such set (a client keeps sending the same)."""
        scope = request.scope
        key = (
            scope.get("scheme"),
            scope.get("server"),
            request.headers.get("host"),
            scope.get("app_root_path", scope.get("root_path", "")),
        )
        found = self._base_urls.get(key)
        if found is None:
            if len(self._base_urls) >= _MOST_BASE_URLS:  # the Host header is the client's
                self._base_urls.clear()
            found = self._base_urls[key] = str(request.base_url).rstrip("/") + PREFIX
        return found

    async def _handle(self, request: ScimRequest) -> tuple[ScimResponse, list[Change]]:
        if request.method.upper() not in {"PUT", "PATCH", "DELETE"}:
            return await self._attempts(request)
        key = request.path.strip("/")
        lock, users = self._writing.get(key, (asyncio.Lock(), 0))
        self._writing[key] = (lock, users + 1)
        try:
            async with lock:
                return await self._attempts(request)
        finally:
            lock, users = self._writing[key]
            if users == 1:
                del self._writing[key]
            else:
                self._writing[key] = (lock, users - 1)

    async def _attempts(self, request: ScimRequest) -> tuple[ScimResponse, list[Change]]:
        for attempt in range(_RETRIES):
            changes: list[Change] = []
            token = committed.set(changes)
            try:
                return await self.handler.handle(request), changes
            except VersionConflict:
                # Another replica wrote it: read it again, after a pause that grows.
                await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
                continue
            except (SQLAlchemyError, OSError) as exc:
                # The class and SQLSTATE only: the driver's message may quote a parameter.
                logger.error("SCIM %s %s: %s", request.method, request.path, reason_of(exc))
                return self.service.error_response(Unavailable()), changes
            except SCIMException as exc:
                # The scimType only: the detail may quote a value (an e-mail in a filter).
                logger.info(
                    "%s %s -> %s %s", request.method, request.path, exc.status, exc.scim_type or ""
                )
                return self.service.error_response(exc), changes
            except Exception as exc:
                # The class only: a validation message may quote the request's values.
                logger.error(
                    "SCIM %s %s failed: %s", request.method, request.path, type(exc).__name__
                )
                return self.service.error_response(exc), changes
            finally:
                committed.reset(token)
        return self.service.error_response(
            SCIMException(detail="the resource kept changing; retry")
        ), []

    async def flush(self) -> None:
        """Write the request log rows gathered since the last flush. Lost with the process if
        it dies first: the log misses those requests (their changes and events are
        committed with the changes themselves)."""
        rows, self._log_rows = self._log_rows, []
        try:
            if rows:
                async with self.engine.begin() as connection:
                    await connection.execute(insert(tables.requests), rows)
        except Exception as exc:  # bookkeeping: the next flush carries on with new rows
            logger.warning("SCIM request log not written: %s", reason_of(exc))

    async def run_flushes(self, every: float) -> None:
        """Flush forever, every ``every`` seconds."""
        while True:
            await asyncio.sleep(every)
            await self.flush()


@contextlib.asynccontextmanager
async def scim_endpoint(app: FastAPI, settings: ScimSettings) -> AsyncIterator[ScimEndpoint | None]:
    """Start the SCIM endpoint of ``app`` (inbox open) and its outbox sweep; stop them."""
    state: Any = app.state
    if not settings.enabled:
        yield None
        return
    publisher = Publisher(
        state.inbox.engine,
        state.inbox,
        state.router,
        state.forwarder,
        state.metrics,
        grace_seconds=settings.sweep_seconds,
    )
    endpoint = ScimEndpoint(
        state.inbox.engine, publisher, settings, getattr(state, "scim_metrics", None)
    )
    await endpoint.warm_up()
    tasks = [
        asyncio.create_task(publisher.run(settings.sweep_seconds), name="scim-outbox-sweep"),
        asyncio.create_task(endpoint.run_flushes(settings.flush_seconds), name="scim-flush"),
    ]
    try:
        yield endpoint
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await endpoint.flush()


async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """``/scim/v2``, as a plain ASGI app (:func:`webhooks.app.create_app` mounts it first).

    Mounted rather than a route on an included router: the endpoint reads the raw request and
    answers SCIM's own responses, and through an included router every request on the busiest
    path (an IdP's import) first paid FastAPI's included-router resolution and Starlette's
    request wrapper for nothing."""
    request = Request(scope, receive)
    endpoint: ScimEndpoint | None = getattr(request.app.state, "scim", None)
    response = Response(status_code=404) if endpoint is None else await endpoint.serve(request)
    await response(scope, receive, send)
