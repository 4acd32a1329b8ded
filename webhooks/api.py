"""All routers of the service in one place (one per source, plus Slack interactivity)."""

from __future__ import annotations

from fastapi import APIRouter

from webhooks.routes import bamboohr, generic, jira, okta, servicenow, slack, slack_commands

api_router = APIRouter()
api_router.include_router(okta.router)
api_router.include_router(bamboohr.router)
api_router.include_router(jira.router)
api_router.include_router(servicenow.router)
api_router.include_router(generic.router)
api_router.include_router(slack.router)
api_router.include_router(slack_commands.router)
