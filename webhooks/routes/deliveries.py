"""The delivery route of every webhook source: ``POST /webhooks/<name>``, built from its module.

Verify the raw body (the source's scheme), cut it into events (the source's mapping), then
route, store and acknowledge them (:func:`webhooks.receiver.accept`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from webhooks.deps import header_docs, services
from webhooks.receiver import Receipt, accept, respond
from webhooks.source import WebhookSource
from webhooks.sources import SOURCES


def delivery_router(source: WebhookSource) -> APIRouter:
    """The routes of ``source``: its delivery ``POST`` and whatever else it adds."""
    router = APIRouter(tags=[source.name])
    name = source.name

    async def receive(request: Request) -> Response:
        app = services(request)
        delivery = await source.verify(request, app.settings, app.settings.max_body_bytes)
        receipt = await accept(
            source=name,
            drafts=source.events(delivery),
            headers=delivery.headers,
            inbox=app.inbox,
            router=app.router,
            forwarder=app.forwarder,
            metrics=app.metrics,
        )
        return respond(receipt, accepted=source.accepted_status)

    receive.__doc__ = (type(source).__doc__ or "").strip() + (
        " Each event is routed and stored once (a redelivery answers 200, duplicate)."
    )
    router.add_api_route(
        source.path,
        receive,
        methods=["POST"],
        response_model=Receipt,
        status_code=source.accepted_status,
        summary=source.summary,
        name=f"receive_{name}",
        openapi_extra={
            "parameters": header_docs(**source.header_docs),
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": source.body_model.model_json_schema()}},
            },
        },
    )
    source.add_routes(router)
    return router


def source_routers() -> list[APIRouter]:
    """One router per source of :data:`webhooks.sources.SOURCES`."""
    return [delivery_router(source) for source in SOURCES.values()]
