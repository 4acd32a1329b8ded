"""``/v2/roles``: predefined and custom RBAC roles."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from emulator.arize import render
from emulator.arize.auth import CallerDep, PageDep, StateDep
from emulator.arize.schemas import CreateRoleRequest, UpdateRoleRequest

router = APIRouter(prefix="/roles", tags=["roles"])


@router.get("")
async def list_roles(
    state: StateDep, caller: CallerDep, page: PageDep, is_predefined: bool | None = None
) -> JSONResponse:
    """List roles (no name filter)."""
    result = state.list_roles(
        caller, is_predefined=is_predefined, limit=page.limit, cursor=page.cursor
    )
    return JSONResponse(result.envelope("roles", lambda r: render.role(state, r)))


@router.get("/{role_id}")
async def get_role(state: StateDep, caller: CallerDep, role_id: str) -> JSONResponse:
    """Get one role."""
    return JSONResponse(render.role(state, state.get_role(caller, role_id)))


@router.post("")
async def create_role(state: StateDep, caller: CallerDep, body: CreateRoleRequest) -> JSONResponse:
    """Create a custom role."""
    role = state.create_role(
        caller, name=body.name, permissions=body.permissions, description=body.description
    )
    return JSONResponse(render.role(state, role), status_code=201)


@router.patch("/{role_id}")
async def update_role(
    state: StateDep, caller: CallerDep, role_id: str, body: UpdateRoleRequest
) -> JSONResponse:
    """Update a custom role (permissions are replaced)."""
    role = state.update_role(caller, role_id, changes=body.changes())
    return JSONResponse(render.role(state, role))


@router.delete("/{role_id}", status_code=204)
async def delete_role(state: StateDep, caller: CallerDep, role_id: str) -> Response:
    """Delete a custom role with no bindings."""
    state.delete_role(caller, role_id)
    return Response(status_code=204)
