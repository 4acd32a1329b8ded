"""``/v2/projects``: CRUD (a project id is a ``Model:`` global id)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from emulator.arize import render
from emulator.arize.auth import CallerDep, PageDep, StateDep
from emulator.arize.schemas import CreateProjectRequest, UpdateProjectRequest

router = APIRouter(prefix="/projects", tags=["projects"])


@router.get("")
async def list_projects(
    state: StateDep,
    caller: CallerDep,
    page: PageDep,
    space_id: str | None = None,
    space_name: Annotated[str | None, Query(max_length=255)] = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    project_type: Literal["APPLICATION", "HARNESS", "EXPERIMENT"] | None = None,
) -> JSONResponse:
    """List the projects the caller can reach."""
    result = state.list_projects(
        caller,
        space_id=space_id,
        space_name=space_name,
        name=name,
        project_type=project_type,
        limit=page.limit,
        cursor=page.cursor,
    )
    return JSONResponse(result.envelope("projects", lambda p: render.project(state, p)))


@router.get("/{project_id}")
async def get_project(state: StateDep, caller: CallerDep, project_id: str) -> JSONResponse:
    """Get one project."""
    return JSONResponse(render.project(state, state.get_project(caller, project_id)))


@router.post("")
async def create_project(
    state: StateDep, caller: CallerDep, body: CreateProjectRequest
) -> JSONResponse:
    """Create a project in a space."""
    project = state.create_project(caller, name=body.name, space_id=body.space_id)
    return JSONResponse(render.project(state, project), status_code=201)


@router.patch("/{project_id}")
async def update_project(
    state: StateDep, caller: CallerDep, project_id: str, body: UpdateProjectRequest
) -> JSONResponse:
    """Rename a project."""
    project = state.update_project(caller, project_id, name=body.name)
    return JSONResponse(render.project(state, project))


@router.delete("/{project_id}", status_code=204)
async def delete_project(state: StateDep, caller: CallerDep, project_id: str) -> Response:
    """Delete a project."""
    state.delete_project(caller, project_id)
    return Response(status_code=204)
