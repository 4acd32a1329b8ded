"""SCIM tests: the webhook service in process (lifespan run, ASGI transport), its inbox on a
SQLite file (or PostgreSQL where a test asks for ``inbox_url``), one bearer token, and the
example SCIM routing file, so every committed change is checked down to its inbox event."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from tests.webhooks.backends import inbox_url  # noqa: F401  (fixture: SQLite and PostgreSQL)
from webhooks.app import create_app
from webhooks.inbox import Inbox
from webhooks.inbox_records import InboxEvent
from webhooks.scim import tables, tokens
from webhooks.scim.settings import ScimSettings
from webhooks.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ROUTING = ROOT / "examples" / "routing-scim.yaml"
SCIM = "/scim/v2"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Scim:
    """A running service: its app, an authenticated client, and its database."""

    app: FastAPI
    http: httpx.AsyncClient
    token: str

    @property
    def inbox(self) -> Inbox:
        inbox: Inbox = self.app.state.inbox
        return inbox

    async def events(self) -> list[InboxEvent]:
        """The SCIM events in the inbox, oldest first."""
        return sorted(
            await self.inbox.list(source="scim", limit=100_000), key=lambda event: event.id
        )

    async def counts(self) -> dict[str, int]:
        """Rows per SCIM table: "nothing changed" is these and the inbox staying the same."""
        found = {}
        async with self.inbox.engine.connect() as connection:
            for table in (tables.resources, tables.changes):
                found[table.name] = (
                    await connection.execute(select(func.count()).select_from(table))
                ).scalar_one()
        found["events"] = len(await self.events())
        return found

    async def snapshot(self) -> list[Any]:
        """Every stored resource (type, id, version, body): for comparing before and after."""
        async with self.inbox.engine.connect() as connection:
            rows = await connection.execute(
                select(
                    tables.resources.c.resource_type,
                    tables.resources.c.id,
                    tables.resources.c.version,
                    tables.resources.c.body,
                ).order_by(tables.resources.c.id)
            )
            return [tuple(row) for row in rows]


@contextlib.asynccontextmanager
async def running(
    url: str, *, routing: Path | None = ROUTING, token_name: str = "idp", **scim: Any
) -> AsyncIterator[Scim]:
    """The service on the database ``url`` (lifespan run), with a token named ``token_name``."""
    settings = Settings(
        environment="test",
        inbox_url=url,
        forwarder_enabled=False,
        # Never reached: the forwarder is off, and the client connects lazily.
        prefect_api_url="http://127.0.0.1:9/api",
        routing_config=routing,
    )
    app = create_app(settings, ScimSettings(**scim))
    async with app.router.lifespan_context(app):
        token = await tokens.create(app.state.inbox.engine, token_name)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://scim.test",
            headers={"Authorization": f"Bearer {token}"},
        ) as http:
            yield Scim(app, http, token)


@pytest.fixture
async def scim(tmp_path: Path) -> AsyncIterator[Scim]:
    """The service on a fresh SQLite inbox."""
    async with running(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}") as service:
        yield service


def user_body(user_name: str, *, given: str = "Ada", family: str = "Lovelace", **extra: Any) -> Any:
    """A User as Okta's SCIM 2.0 guide creates one."""
    return {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} {family}",
        "active": True,
        **extra,
    }


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp message."""
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}
