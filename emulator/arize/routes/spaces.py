"""``/v2/spaces``: CRUD plus add (upsert) and remove members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from emulator.arize import render
from emulator.arize.auth import CallerDep, PageDep, StateDep
from emulator.arize.schemas import (
    AddSpaceUserRequest,
    CreateSpaceRequest,
    UpdateSpaceRequest,
    role_dict,
)

router = APIRouter(prefix="/spaces", tags=["spaces"])


@router.get("")
async def list_spaces(
    state: StateDep,
    caller: CallerDep,
    page: PageDep,
    org_id: str | None = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
) -> JSONResponse:
    """List the spaces the caller can see."""
    result = state.list_spaces(
        caller, org_id=org_id, name=name, limit=page.limit, cursor=page.cursor
    )
    return JSONResponse(result.envelope("spaces", lambda s: render.space(state, s)))


@router.get("/{space_id}")
async def get_space(state: StateDep, caller: CallerDep, space_id: str) -> JSONResponse:
    """Get one space."""
    return JSONResponse(render.space(state, state.get_space(caller, space_id)))


@router.post("")
async def create_space(
    state: StateDep, caller: CallerDep, body: CreateSpaceRequest
) -> JSONResponse:
    """Create a space in an organization."""
    space = state.create_space(
        caller,
        name=body.name,
        organization_id=body.organization_id,
        description=body.description,
        is_private=body.is_private,
    )
    return JSONResponse(render.space(state, space), status_code=201)


@router.patch("/{space_id}")
async def update_space(
    state: StateDep, caller: CallerDep, space_id: str, body: UpdateSpaceRequest
) -> JSONResponse:
    """Update the fields sent; null clears the nullable ones."""
    space = state.update_space(caller, space_id, changes=body.changes())
    return JSONResponse(render.space(state, space))


@router.delete("/{space_id}", status_code=204)
async def delete_space(state: StateDep, caller: CallerDep, space_id: str) -> Response:
    """Delete a space and everything in it."""
    state.delete_space(caller, space_id)
    return Response(status_code=204)


@router.post("/{space_id}/users")
async def add_space_user(
    state: StateDep, caller: CallerDep, space_id: str, body: AddSpaceUserRequest
) -> JSONResponse:
    """Add a user (already in the org) to the space, or change their role (200)."""
    membership = state.add_space_user(
        caller, space_id, user_id=body.user_id, role=role_dict(body.role) or {}
    )
    return JSONResponse(render.space_membership(state, membership), status_code=200)


@router.delete("/{space_id}/users/{user_id}", status_code=204)
async def remove_space_user(
    state: StateDep, caller: CallerDep, space_id: str, user_id: str
) -> Response:
    """Remove a user and their role bindings from the space."""
    state.remove_space_user(caller, space_id, user_id)
    return Response(status_code=204)
