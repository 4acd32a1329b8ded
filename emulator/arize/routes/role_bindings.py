"""``/v2/role-bindings``: one role per user per SPACE or PROJECT."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from emulator.arize import render
from emulator.arize.auth import CallerDep, PageDep, StateDep
from emulator.arize.schemas import CreateRoleBindingRequest, UpdateRoleBindingRequest

router = APIRouter(prefix="/role-bindings", tags=["role-bindings"])


@router.get("")
async def list_role_bindings(
    state: StateDep,
    caller: CallerDep,
    page: PageDep,
    resource_type: Literal["SPACE", "PROJECT"],
    user_id: str | None = None,
) -> JSONResponse:
    """List bindings of one resource type the caller may read."""
    result = state.list_role_bindings(
        caller,
        resource_type=resource_type,
        user_id=user_id,
        limit=page.limit,
        cursor=page.cursor,
    )
    return JSONResponse(result.envelope("role_bindings", lambda b: render.role_binding(state, b)))


@router.get("/{binding_id}")
async def get_role_binding(state: StateDep, caller: CallerDep, binding_id: str) -> JSONResponse:
    """Get one binding."""
    return JSONResponse(render.role_binding(state, state.get_role_binding(caller, binding_id)))


@router.post("")
async def create_role_binding(
    state: StateDep, caller: CallerDep, body: CreateRoleBindingRequest
) -> JSONResponse:
    """Bind a role to a user on a resource."""
    binding = state.create_role_binding(
        caller,
        user_id=body.user_id,
        role_id=body.role_id,
        resource_type=body.resource_type,
        resource_id=body.resource_id,
    )
    return JSONResponse(render.role_binding(state, binding), status_code=201)


@router.patch("/{binding_id}")
async def update_role_binding(
    state: StateDep, caller: CallerDep, binding_id: str, body: UpdateRoleBindingRequest
) -> JSONResponse:
    """Change a binding's role."""
    binding = state.update_role_binding(caller, binding_id, role_id=body.role_id)
    return JSONResponse(render.role_binding(state, binding))


@router.delete("/{binding_id}", status_code=204)
async def delete_role_binding(state: StateDep, caller: CallerDep, binding_id: str) -> Response:
    """Delete a binding."""
    state.delete_role_binding(caller, binding_id)
    return Response(status_code=204)
