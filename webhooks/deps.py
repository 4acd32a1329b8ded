"""What the routes need from the app, kept out of the routes.

``SettingsDep``, ``InboxDep``, ``RouterDep`` and ``ForwarderDep`` are FastAPI dependencies
handing out what the lifespan put on ``app.state`` (for the routes off the delivery path).
The delivery routes (``webhooks.routes.deliveries``) call :func:`services` directly instead:
resolving a dependency tree cost more CPU per delivery than verifying it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from webhooks.forwarder import Forwarder
from webhooks.inbox import Inbox
from webhooks.metrics import Metrics
from webhooks.routing import Router
from webhooks.settings import Settings


async def get_settings(request: Request) -> Settings:
    """The service's settings."""
    return request.app.state.settings


async def get_inbox(request: Request) -> Inbox:
    """The open inbox."""
    return request.app.state.inbox


async def get_router(request: Request) -> Router:
    """The validated routing config."""
    return request.app.state.router


async def get_forwarder(request: Request) -> Forwarder | None:
    """The forwarder, if it runs in this process."""
    return getattr(request.app.state, "forwarder", None)


# Async on purpose: FastAPI runs plain ``def`` dependencies in a worker thread, a hop per
# dependency per request that dominated the acknowledgement latency.
SettingsDep = Annotated[Settings, Depends(get_settings)]
InboxDep = Annotated[Inbox, Depends(get_inbox)]
RouterDep = Annotated[Router, Depends(get_router)]
ForwarderDep = Annotated[Forwarder | None, Depends(get_forwarder)]


def header_docs(**headers: str) -> list[dict[str, Any]]:
    """OpenAPI ``parameters`` for headers a route reads itself (``webhook_id`` documents
    ``webhook-id``): the delivery routes take only the ``Request``, so nothing else lists them."""
    return [
        {
            "name": name.replace("_", "-"),
            "in": "header",
            "required": False,
            "description": description,
            "schema": {"type": "string"},
        }
        for name, description in headers.items()
    ]


@dataclass(frozen=True, slots=True)
class Services:
    """What the lifespan put on ``app.state`` for the delivery routes."""

    settings: Settings
    inbox: Inbox
    router: Router
    forwarder: Forwarder | None
    metrics: Metrics | None


def services(request: Request) -> Services:
    """The app's settings, inbox, router, forwarder and metrics (a plain call, not a
    dependency)."""
    state = request.app.state
    return Services(
        state.settings,
        state.inbox,
        state.router,
        getattr(state, "forwarder", None),
        getattr(state, "metrics", None),
    )
