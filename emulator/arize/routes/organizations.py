"""``/v2/organizations``: CRUD plus add (upsert) and remove members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from emulator.arize import render
from emulator.arize.auth import CallerDep, PageDep, StateDep
from emulator.arize.schemas import (
    AddOrganizationUserRequest,
    CreateOrganizationRequest,
    UpdateOrganizationRequest,
    role_dict,
)

router = APIRouter(prefix="/organizations", tags=["organizations"])


@router.get("")
async def list_organizations(
    state: StateDep,
    caller: CallerDep,
    page: PageDep,
    name: Annotated[str | None, Query(max_length=255)] = None,
) -> JSONResponse:
    """List the organizations the caller can access."""
    result = state.list_organizations(caller, name=name, limit=page.limit, cursor=page.cursor)
    return JSONResponse(result.envelope("organizations", lambda o: render.organization(state, o)))


@router.get("/{org_id}")
async def get_organization(state: StateDep, caller: CallerDep, org_id: str) -> JSONResponse:
    """Get one organization."""
    return JSONResponse(render.organization(state, state.get_organization(caller, org_id)))


@router.post("")
async def create_organization(
    state: StateDep, caller: CallerDep, body: CreateOrganizationRequest
) -> JSONResponse:
    """Create an organization."""
    org = state.create_organization(caller, name=body.name, description=body.description)
    return JSONResponse(render.organization(state, org), status_code=201)


@router.patch("/{org_id}")
async def update_organization(
    state: StateDep, caller: CallerDep, org_id: str, body: UpdateOrganizationRequest
) -> JSONResponse:
    """Update name and/or description (null clears the description)."""
    org = state.update_organization(caller, org_id, changes=body.changes())
    return JSONResponse(render.organization(state, org))


@router.delete("/{org_id}", status_code=204)
async def delete_organization(state: StateDep, caller: CallerDep, org_id: str) -> Response:
    """Delete an organization and everything it owns."""
    state.delete_organization(caller, org_id)
    return Response(status_code=204)


@router.post("/{org_id}/users")
async def add_organization_user(
    state: StateDep, caller: CallerDep, org_id: str, body: AddOrganizationUserRequest
) -> JSONResponse:
    """Add a user to the organization, or change their role (200 either way)."""
    membership = state.add_organization_user(
        caller, org_id, user_id=body.user_id, role=role_dict(body.role) or {}
    )
    return JSONResponse(render.org_membership(state, membership), status_code=200)


@router.delete("/{org_id}/users/{user_id}", status_code=204)
async def remove_organization_user(
    state: StateDep, caller: CallerDep, org_id: str, user_id: str
) -> Response:
    """Remove a user from the organization and all its spaces."""
    state.remove_organization_user(caller, org_id, user_id)
    return Response(status_code=204)
