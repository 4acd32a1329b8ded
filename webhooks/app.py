"""The FastAPI application: ``create_app(settings)`` and its lifespan.

Nothing here reads the environment at import time. ``arize-runbooks serve`` builds the app with
``create_app`` and runs it under uvicorn with ``webhooks.access_log``'s logging; the benches'
faster variant runs ``uvicorn --factory webhooks.app:app_from_env``; tests call ``serve`` or
``create_app`` with their own settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from webhooks import health as health_routes
from webhooks import metrics as metrics_routes
from webhooks.api import api_router
from webhooks.approvals import SlackApprovalHandler, prefect_client_factory
from webhooks.errors import InvalidSignature, WebhookError
from webhooks.evidence import publish as evidence_publish
from webhooks.evidence import router as evidence_routes
from webhooks.evidence.delivery import SiemDelivery
from webhooks.evidence.store import EvidenceStore
from webhooks.expiry_sweep import ExpirySweep
from webhooks.forwarder import Forwarder
from webhooks.inbox import Inbox
from webhooks.metrics import DeliveryMetrics, Metrics
from webhooks.routes.slack import build_handlers, interaction_context
from webhooks.routing import Router
from webhooks.scim import endpoint as scim_routes
from webhooks.scim.settings import ScimSettings
from webhooks.settings import Settings

logger = logging.getLogger("webhooks.app")


class Health(BaseModel):
    """``/health`` answer."""

    status: str
    forwarder: str


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the inbox and the Prefect client, start the forwarder; close all on shutdown."""
    settings: Settings = app.state.settings
    async with contextlib.AsyncExitStack() as stack:
        inbox = await stack.enter_async_context(
            Inbox(
                settings.inbox_url,
                migrate=settings.inbox_migrate,
                group_commit=settings.inbox_group_commit,
                pool_size=settings.inbox_pool_size,
            )
        )
        app.state.inbox = inbox
        client = await stack.enter_async_context(prefect_client_factory(settings.prefect_api_url)())
        app.state.prefect_client = client
        sinks = settings.siem_sinks()
        app.state.evidence_store = EvidenceStore(inbox, [sink.name for sink in sinks])
        siem = SiemDelivery(sinks) if sinks else None
        if siem is not None:
            stack.push_async_callback(siem.close)
        if settings.evidence_head_channel or settings.evidence_head_file:
            stack.push_async_callback(_cancel, evidence_publish.start_daily(settings, inbox))
        forwarder = Forwarder(
            inbox,
            app.state.router,
            client,
            concurrency=settings.forwarder_concurrency,
            batch_size=settings.forwarder_batch_size,
            poll_seconds=settings.forwarder_poll_seconds,
            backoff_base=settings.forwarder_backoff_base,
            backoff_max=settings.forwarder_backoff_max,
            max_attempts=settings.forwarder_max_attempts,
            client_retries=settings.prefect_client_retries,
            lease_seconds=settings.forwarder_lease_seconds,
            metrics=app.state.metrics,
            siem=siem,
        )
        app.state.forwarder = forwarder
        app.state.forwarder_task = None
        # Clicks use these same handlers (the route reads app.state), not copies of them.
        app.state.slack_handlers = build_handlers(
            interaction_context(settings, client, inbox, forwarder)
        )
        clicks = next(
            (h for h in app.state.slack_handlers if isinstance(h, SlackApprovalHandler)), None
        )
        if clicks is not None and settings.slack_expiry_sweep_seconds > 0:
            sweep = ExpirySweep(
                prefect=clicks.prefect,
                slack=clicks.slack,
                evidence=app.state.evidence_store,
                clock=clicks.now,
            )
            task = asyncio.create_task(
                sweep.forever(settings.slack_expiry_sweep_seconds), name="slack-expiry-sweep"
            )
            stack.push_async_callback(_cancel, task)
        if settings.forwarder_enabled:
            task = asyncio.create_task(forwarder.run(), name="webhooks-forwarder")
            app.state.forwarder_task = task
            stack.push_async_callback(_cancel, task)
        # SCIM: same process and database as the inbox; its changes go through the forwarder.
        app.state.scim = await stack.enter_async_context(
            scim_routes.scim_endpoint(app, app.state.scim_settings)
        )
        _freeze_startup_heap()
        yield


@functools.cache
def _freeze_startup_heap() -> None:
    """Keep the objects made at start-up out of every later garbage collection; once a process.

    Prefect, SQLAlchemy and pydantic leave about 200,000 objects that live as long as the
    process. Each full collection walked them all (about 150 ms) and stalled every delivery
    in flight: that was the acknowledgement's p99, and its p95 on a busy machine.
    """
    gc.collect()
    gc.freeze()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _webhook_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WebhookError)
    if not isinstance(exc, InvalidSignature):
        logger.info("%s %s -> %d: %s", request.method, request.url.path, exc.status_code, exc)
    headers = {"Retry-After": "30"} if exc.status_code == 503 else None
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def create_app(
    settings: Settings | None = None,
    scim_settings: ScimSettings | None = None,
    router: Router | None = None,
) -> FastAPI:
    """Build the service.

    The routing config is loaded and validated here, so a bad file stops start-up with a
    message naming the route and field.

    Args:
        settings: Configuration; ``None`` reads it from the environment.
        scim_settings: The SCIM endpoint's; ``None`` reads them from the environment.
        router: The routing file's router, already loaded (``serve`` checks it first);
            ``None`` loads it from ``settings.routing_config``.

    Raises:
        webhooks.routing.RoutingConfigError: the routing file is invalid.
    """
    settings = settings or Settings()
    if router is None:
        router = Router.configured(settings.routing_config)
    app = FastAPI(
        title="arize-runbooks webhooks",
        summary="HR, identity and ticket webhooks in; exactly one Prefect flow run per event.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.router = router
    # Named on /readyz; `arize-runbooks serve` refuses to start with any of them.
    app.state.config_problems = settings.problems(router.routed_sources)
    app.state.metrics = Metrics()
    app.state.scim_settings = scim_settings or ScimSettings()
    app.state.scim_metrics = scim_routes.ScimMetrics(app.state.metrics.registry)
    app.add_exception_handler(WebhookError, _webhook_error)
    app.add_middleware(DeliveryMetrics, metrics=app.state.metrics)
    # SCIM first: routes are tried in order, and an IdP's import is the busiest traffic.
    app.mount(scim_routes.PREFIX, scim_routes.asgi)
    app.include_router(api_router)
    app.include_router(evidence_routes.router)
    app.include_router(health_routes.router)
    app.include_router(metrics_routes.router)

    @app.get("/health", response_model=Health, tags=["health"])
    async def health(request: Request) -> Health:
        """Liveness, and whether the forwarder loop is running."""
        task = getattr(request.app.state, "forwarder_task", None)
        if task is None:
            state = "disabled"
        elif task.done():
            state = "stopped"
        else:
            state = "running"
        return Health(status="ok", forwarder=state)

    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from the environment."""
    return create_app(Settings())
