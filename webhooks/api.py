"""All routers of the service in one place: one per webhook source, plus Slack."""

from __future__ import annotations

from fastapi import APIRouter

from webhooks.routes import slack, slack_commands
from webhooks.routes.deliveries import source_routers

api_router = APIRouter()
for _router in source_routers():
    api_router.include_router(_router)
api_router.include_router(slack.router)
api_router.include_router(slack_commands.router)
