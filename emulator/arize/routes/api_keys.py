"""``/v2/api-keys``: user and service keys, refresh with a grace period, revoke."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse, Response

from emulator.arize import render
from emulator.arize.auth import CallerDep, PageDep, StateDep
from emulator.arize.schemas import (
    CreateApiKeyRequest,
    CreateServiceApiKeyRequest,
    RefreshApiKeyRequest,
    role_dict,
)

router = APIRouter(prefix="/api-keys", tags=["api-keys"])


@router.get("")
async def list_api_keys(
    state: StateDep,
    caller: CallerDep,
    page: PageDep,
    key_type: Literal["USER", "SERVICE"] | None = None,
    status: Literal["ACTIVE", "REVOKED"] | None = None,
    space_id: str | None = None,
    user_id: str | None = None,
) -> JSONResponse:
    """List keys: the caller's user keys by default, a space's service keys with space_id."""
    result = state.list_api_keys(
        caller,
        key_type=key_type,
        status=status,
        space_id=space_id,
        user_id=user_id,
        limit=page.limit,
        cursor=page.cursor,
    )
    filtered = space_id is not None
    return JSONResponse(
        result.envelope("api_keys", lambda k: render.api_key(state, k, space_filtered=filtered))
    )


@router.post("")
async def create_api_key(
    state: StateDep, caller: CallerDep, body: CreateApiKeyRequest
) -> JSONResponse:
    """Create a key; its value is in this response only."""
    if isinstance(body, CreateServiceApiKeyRequest):
        key, raw = state.create_service_key(
            caller,
            name=body.name,
            description=body.description,
            expires_at=body.expires_at,
            account_role=role_dict(body.account_role),
            organizations=[
                {
                    "org_id": org.org_id,
                    "role": role_dict(org.role),
                    "spaces": [
                        {"space_id": s.space_id, "role": role_dict(s.role)} for s in org.spaces
                    ],
                }
                for org in body.organizations
            ],
        )
    else:
        key, raw = state.create_user_key(
            caller, name=body.name, description=body.description, expires_at=body.expires_at
        )
    return JSONResponse(render.created_api_key(state, key, raw), status_code=201)


@router.post("/{api_key_id}/refresh")
async def refresh_api_key(
    state: StateDep,
    caller: CallerDep,
    api_key_id: str,
    body: RefreshApiKeyRequest | None = Body(None),
) -> JSONResponse:
    """Replace the key's secret, keeping its identity (200)."""
    empty = body is None or not body.model_fields_set
    key, raw = state.refresh_api_key(
        caller,
        api_key_id,
        expires_at=body.expires_at if body else None,
        grace_period_seconds=body.grace_period_seconds if body else None,
        empty_body=empty,
    )
    return JSONResponse(render.refreshed_api_key(state, key, raw), status_code=200)


@router.put("/{api_key_id}/revoke", status_code=204)
async def revoke_api_key(state: StateDep, caller: CallerDep, api_key_id: str) -> Response:
    """Revoke a key (idempotent)."""
    state.revoke_api_key(caller, api_key_id)
    return Response(status_code=204)
