"""``/v2/resource-restrictions``: keyed by the restricted resource's id."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from emulator.arize import render
from emulator.arize.auth import CallerDep, PageDep, StateDep
from emulator.arize.schemas import CreateResourceRestrictionRequest

router = APIRouter(prefix="/resource-restrictions", tags=["resource-restrictions"])


@router.get("")
async def list_restrictions(
    state: StateDep,
    caller: CallerDep,
    page: PageDep,
    resource_type: Literal["PROJECT", "DASHBOARD", "PROMPT"] | None = None,
) -> JSONResponse:
    """List restrictions the caller may manage (pages may be short)."""
    result = state.list_restrictions(
        caller, resource_type=resource_type, limit=page.limit, cursor=page.cursor
    )
    return JSONResponse(
        result.envelope("resource_restrictions", lambda r: render.restriction(state, r))
    )


@router.post("")
async def restrict(
    state: StateDep, caller: CallerDep, body: CreateResourceRestrictionRequest
) -> JSONResponse:
    """Restrict a resource (200, idempotent)."""
    restriction = state.restrict(caller, resource_id=body.resource_id)
    return JSONResponse(render.restriction(state, restriction), status_code=200)


@router.delete("/{resource_id}", status_code=204)
async def unrestrict(state: StateDep, caller: CallerDep, resource_id: str) -> Response:
    """Lift a restriction."""
    state.unrestrict(caller, resource_id)
    return Response(status_code=204)
