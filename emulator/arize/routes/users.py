"""``/v2/users``: list, get, create (idempotent on email), update, delete, invitations."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from emulator.arize import render
from emulator.arize.auth import CallerDep, PageDep, StateDep
from emulator.arize.schemas import CreateUserRequest, UpdateUserRequest, role_dict

router = APIRouter(prefix="/users", tags=["users"])

UserStatus = Literal["ACTIVE", "INVITED", "EXPIRED"]


@router.get("")
async def list_users(
    state: StateDep,
    caller: CallerDep,
    page: PageDep,
    email: Annotated[str | None, Query(max_length=255)] = None,
    status: Annotated[list[UserStatus] | None, Query()] = None,
) -> JSONResponse:
    """List users, oldest first."""
    result = state.list_users(
        caller, email=email, statuses=status, limit=page.limit, cursor=page.cursor
    )
    return JSONResponse(result.envelope("users", lambda u: render.user(state, u)))


@router.get("/{user_id}")
async def get_user(state: StateDep, caller: CallerDep, user_id: str) -> JSONResponse:
    """Get one user."""
    return JSONResponse(render.user(state, state.get_user(caller, user_id)))


@router.post("")
async def create_user(state: StateDep, caller: CallerDep, body: CreateUserRequest) -> JSONResponse:
    """Create (invite) a user: 201 new, 200 for a pending invitation."""
    user, created, temporary_password = state.create_user(
        caller,
        name=body.name,
        email=body.email,
        role=role_dict(body.role) or {},
        invite_mode=body.invite_mode,
    )
    if not created:
        return JSONResponse(render.user(state, user), status_code=200)
    return JSONResponse(
        render.created_user(state, user, body.invite_mode, temporary_password), status_code=201
    )


@router.patch("/{user_id}")
async def update_user(
    state: StateDep, caller: CallerDep, user_id: str, body: UpdateUserRequest
) -> JSONResponse:
    """Rename a user or change ``is_developer``."""
    user = state.update_user(caller, user_id, name=body.name, is_developer=body.is_developer)
    return JSONResponse(render.user(state, user))


@router.delete("/{user_id}", status_code=204)
async def delete_user(state: StateDep, caller: CallerDep, user_id: str) -> Response:
    """Delete (block) a user, cascading to memberships, bindings and keys."""
    state.delete_user(caller, user_id)
    return Response(status_code=204)


@router.post("/{user_id}/resend-invitation", status_code=204)
async def resend_invitation(state: StateDep, caller: CallerDep, user_id: str) -> Response:
    """Resend a pending invitation."""
    state.resend_invitation(caller, user_id)
    return Response(status_code=204)


@router.post("/{user_id}/reset-password", status_code=204)
async def reset_password(state: StateDep, caller: CallerDep, user_id: str) -> Response:
    """Send a password-reset link."""
    state.reset_password(caller, user_id)
    return Response(status_code=204)
