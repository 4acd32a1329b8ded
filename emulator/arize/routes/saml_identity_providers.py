"""``/v2/saml-identity-providers`` and their ``role-mappings`` (alpha)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from emulator.arize import render
from emulator.arize.auth import CallerDep, PageDep, StateDep
from emulator.arize.schemas import (
    CreateSamlIdentityProviderRequest,
    CreateSamlRoleMappingRequest,
    UpdateSamlIdentityProviderRequest,
    UpdateSamlRoleMappingRequest,
)

router = APIRouter(prefix="/saml-identity-providers", tags=["saml"])


@router.get("")
async def list_saml_idps(state: StateDep, caller: CallerDep, page: PageDep) -> JSONResponse:
    """List configurations (summaries: no metadata, no role mappings)."""
    result = state.list_saml_idps(caller, limit=page.limit, cursor=page.cursor)
    return JSONResponse(
        result.envelope("saml_identity_providers", lambda i: render.saml_idp_summary(state, i))
    )


@router.post("")
async def create_saml_idp(
    state: StateDep, caller: CallerDep, body: CreateSamlIdentityProviderRequest
) -> JSONResponse:
    """Create a configuration with exactly one metadata source."""
    idp = state.create_saml_idp(
        caller,
        name=body.name,
        metadata_url=body.metadata_url,
        metadata_xml=body.metadata_xml,
        email_domains=body.email_domains,
        default_login_enabled=body.default_login_enabled,
        defaults=body.defaults(),
        sync_user_roles=body.sync_user_roles,
        role_mappings=[m.values() for m in body.role_mappings],
    )
    return JSONResponse(render.saml_idp(state, idp), status_code=201)


@router.get("/{idp_id}")
async def get_saml_idp(state: StateDep, caller: CallerDep, idp_id: str) -> JSONResponse:
    """Get one whole configuration, its role mappings in configuration order."""
    return JSONResponse(render.saml_idp(state, state.get_saml_idp(caller, idp_id)))


@router.patch("/{idp_id}")
async def update_saml_idp(
    state: StateDep, caller: CallerDep, idp_id: str, body: UpdateSamlIdentityProviderRequest
) -> JSONResponse:
    """Change the supplied fields of a configuration."""
    idp = state.update_saml_idp(caller, idp_id, changes=body.changes())
    return JSONResponse(render.saml_idp(state, idp))


@router.delete("/{idp_id}", status_code=204)
async def delete_saml_idp(state: StateDep, caller: CallerDep, idp_id: str) -> Response:
    """Delete a configuration and its role mappings."""
    state.delete_saml_idp(caller, idp_id)
    return Response(status_code=204)


@router.get("/{idp_id}/role-mappings")
async def list_saml_mappings(
    state: StateDep, caller: CallerDep, page: PageDep, idp_id: str
) -> JSONResponse:
    """List a configuration's role mappings in configuration order."""
    result = state.list_saml_mappings(caller, idp_id, limit=page.limit, cursor=page.cursor)
    return JSONResponse(result.envelope("role_mappings", lambda m: render.saml_mapping(state, m)))


@router.post("/{idp_id}/role-mappings")
async def create_saml_mapping(
    state: StateDep, caller: CallerDep, idp_id: str, body: CreateSamlRoleMappingRequest
) -> JSONResponse:
    """Add a role mapping at the end of the configuration's order."""
    mapping = state.create_saml_mapping(caller, idp_id, values=body.values())
    return JSONResponse(render.saml_mapping(state, mapping), status_code=201)


@router.patch("/{idp_id}/role-mappings/{mapping_id}")
async def update_saml_mapping(
    state: StateDep,
    caller: CallerDep,
    idp_id: str,
    mapping_id: str,
    body: UpdateSamlRoleMappingRequest,
) -> JSONResponse:
    """Change the supplied fields of a role mapping; it keeps its position."""
    mapping = state.update_saml_mapping(caller, idp_id, mapping_id, changes=body.changes())
    return JSONResponse(render.saml_mapping(state, mapping))


@router.delete("/{idp_id}/role-mappings/{mapping_id}", status_code=204)
async def delete_saml_mapping(
    state: StateDep, caller: CallerDep, idp_id: str, mapping_id: str
) -> Response:
    """Remove a role mapping (not the last login or admin mapping)."""
    state.delete_saml_mapping(caller, idp_id, mapping_id)
    return Response(status_code=204)
