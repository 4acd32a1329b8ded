"""The ``/v2`` routers, one per resource (thin: parse, call one state method, render)."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import compile_path

from emulator.arize.routes import (
    api_keys,
    audit_logs,
    organizations,
    projects,
    resource_restrictions,
    role_bindings,
    roles,
    saml_identity_providers,
    spaces,
    users,
)

__all__ = ["ROUTE_TEMPLATES", "api_router"]

PREFIX = "/v2"
_MODULES = (
    users,
    organizations,
    spaces,
    projects,
    roles,
    role_bindings,
    resource_restrictions,
    api_keys,
    audit_logs,
    saml_identity_providers,
)

api_router = APIRouter(prefix=PREFIX)
for _module in _MODULES:
    api_router.include_router(_module.router)

# (compiled path regex, template) of every /v2 route, for the request journal's per-route
# counts: the journal runs outside routing, so it matches the path itself.
ROUTE_TEMPLATES: list[tuple[re.Pattern[str], str]] = [
    (compile_path(PREFIX + route.path)[0], PREFIX + route.path)
    for _module in _MODULES
    for route in _module.router.routes
    if isinstance(route, APIRoute)
]
