"""Serve the request shapes the IdPs send once, at start-up, on a throwaway in-memory
database, and keep every class the libraries built while doing so.

Why: scim2-models and scim2-server parametrize their generic models per resource model at
request time (``ListResponse[User]``, ``PatchOp[Group]``, ``ScimFilter[User]``, ...), and
pydantic caches those classes only weakly. Each one dies at the next full garbage collection
and the next request builds it again, 5-10 ms of CPU apiece, during which every request in
flight waits. Kept here, they are built once; the service then freezes them out of the
collector with the rest of the start-up heap.
"""

from __future__ import annotations

import gc
import json
from typing import Any

from pydantic import BaseModel
from scim2_server.handler import AsyncScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.service import ScimService
from sqlalchemy.ext.asyncio import create_async_engine

from webhooks.scim import tables
from webhooks.scim.store import ScimStore, committed

_BASE_URL = "http://warm-up.invalid/scim/v2"
_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
_PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
_JSON = [("Content-Type", "application/scim+json")]
_EMAIL = "warm-up@acme.example"


def parametrized() -> set[type[BaseModel]]:
    """Every parametrized pydantic model class alive now (``ListResponse[User]``, ...)."""
    found: set[type[BaseModel]] = set()
    pending: list[type[BaseModel]] = [BaseModel]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.add(sub)
                pending.append(sub)
    return {cls for cls in found if cls.__pydantic_generic_metadata__["origin"] is not None}


def _patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [_PATCH], "Operations": list(operations)}


async def warm_up(service: ScimService, models: dict[str, type[Any]]) -> frozenset[type[Any]]:
    """Serve Okta's and Entra's request shapes (discovery, lookups, creates, PUT, PATCH in
    both dialects, group pushes, deletes, a bad filter) through the library and our store on
    a throwaway in-memory SQLite database; the parametrized model classes then alive, to be
    kept (some were built before, by the provider, and are as weakly held)."""
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    # No collection meanwhile: a class built by one request and unreferenced after it would
    # otherwise be gone (with its cache entry) before it is kept.
    collecting = gc.isenabled()
    gc.disable()
    try:
        async with engine.begin() as connection:
            await connection.run_sync(tables.metadata.create_all)
        handler = AsyncScimHandler(service, ScimStore(engine, models))

        async def serve(method: str, path: str, body: Any = None, **query: str) -> Any:
            request = ScimRequest(
                method=method,
                base_url=_BASE_URL,
                path=path,
                query=query,
                headers=_JSON,
                body=b"" if body is None else json.dumps(body).encode(),
            )
            token = committed.set([])
            try:
                response = await handler.handle(request)
            except Exception as exc:  # the error answers' classes are wanted too
                response = service.error_response(exc)
            finally:
                committed.reset(token)
            return response.body

        for path in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas"):
            await serve("GET", path)
        user = {
            "schemas": [_USER, _ENTERPRISE],
            "userName": _EMAIL,
            "externalId": "warm",
            "active": True,
            "name": {"givenName": "Warm", "familyName": "Up"},
            "emails": [{"primary": True, "value": _EMAIL, "type": "work"}],
            _ENTERPRISE: {"department": "warm"},
        }
        # Okta's lookup, before the user exists and after.
        lookup = {"filter": f'userName eq "{_EMAIL}"', "startIndex": "1", "count": "100"}
        await serve("GET", "/Users", **lookup)
        user_id = (await serve("POST", "/Users", user))["id"]
        await serve("GET", "/Users", **lookup)
        await serve("GET", "/Users", filter=f'externalId eq "warm" and emails.value eq "{_EMAIL}"')
        await serve("GET", "/Users", filter="userName eq", attributes="userName")
        await serve("GET", f"/Users/{user_id}", excludedAttributes="emails")
        await serve("PUT", f"/Users/{user_id}", {**user, "displayName": "Warm Up"})
        await serve("PATCH", f"/Users/{user_id}", _patch(
            {"op": "Replace", "path": "active", "value": "False"},
        ))  # fmt: skip
        await serve("PATCH", f"/Users/{user_id}", _patch(
            {"op": "replace", "value": {"active": True, "name.givenName": "Warmer"}},
        ))  # fmt: skip
        group = {"schemas": [_GROUP], "displayName": "warm-up", "members": []}
        group_id = (await serve("POST", "/Groups", group))["id"]
        await serve("GET", "/Groups", filter='displayName eq "warm-up"',
                    excludedAttributes="members")  # fmt: skip
        members = f"/Groups/{group_id}"
        await serve("PATCH", members, _patch(
            {"op": "add", "path": "members", "value": [{"value": user_id}]}
        ))  # fmt: skip
        await serve("PATCH", members, _patch(
            {"op": "remove", "path": f'members[value eq "{user_id}"]'}
        ))  # fmt: skip
        await serve("PATCH", members, _patch(
            {"op": "replace", "path": "members", "value": [{"value": user_id}]}
        ))  # fmt: skip
        await serve("PATCH", members, _patch(
            {"op": "Remove", "path": "members", "value": [{"value": user_id}]}
        ))  # fmt: skip
        await serve("PUT", members, {**group, "displayName": "warm-up-2"})
        await serve("GET", members)
        await serve("DELETE", members)
        await serve("DELETE", f"/Users/{user_id}")
        return frozenset(parametrized())
    finally:
        if collecting:
            gc.enable()
        await engine.dispose()
