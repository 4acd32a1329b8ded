"""The control plane under ``/_emulator`` (moto's ``/moto-api``): never faulted, never authed.

- ``GET  /_emulator/health`` → ``{"status": "ok"}``
- ``POST /_emulator/reset`` ``{"seed": "demo"|"empty"|"scale[:k=v,…]", "admin_key"?}``
  → ``{"admin_key"}``
- ``GET|PUT|DELETE /_emulator/faults`` (PUT replaces the whole :class:`FaultConfig`)
- ``GET|DELETE /_emulator/requests`` → ``{"total", "by_route", "by_method"}``
- ``POST /_emulator/keys`` ``{"user_id", "name"?}`` → ``{"key"}``: act as any user in tests
- ``GET  /_emulator/state`` → the whole account as JSON (no key hashes, no secrets)
- ``PUT  /_emulator/users/{user_id}/status`` ``{"status": "INVITED"|"EXPIRED"|"ACTIVE"}``:
  force an invitation state (the real one expires after days)
- ``PUT  /_emulator/settings`` ``{"max_key_lifetime_seconds": int|null, "enterprise"?: bool}``:
  the account's key lifetime limit, and whether it is an Enterprise account (SAML needs one)
- ``POST /_emulator/saml/login`` ``{"email", "attributes": {name: [values]}, "name"?}``: a user
  signs in through SAML; the claiming configuration's mappings are applied as Arize would
- ``POST /_emulator/saml/file-managed`` ``{"name", "metadata_url", "email_domains",
  "role_mappings"}``: a configuration as the deployment's config file declares it (read-only
  through the API)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from emulator.arize.errors import NotFound
from emulator.arize.faults import FaultConfig
from emulator.arize.persistence import state_view
from emulator.arize.runtime import Emulator
from emulator.arize.schemas import CreateSamlRoleMappingRequest
from emulator.arize.seed import check_seed

__all__ = ["router"]

router = APIRouter(prefix="/_emulator", tags=["emulator"])


class ResetRequest(BaseModel):
    """Body of ``POST /_emulator/reset``."""

    model_config = ConfigDict(extra="forbid")
    seed: str = "demo"
    admin_key: str | None = None

    @field_validator("seed")
    @classmethod
    def _known_seed(cls, seed: str) -> str:
        return check_seed(seed)


class KeyRequest(BaseModel):
    """Body of ``POST /_emulator/keys``."""

    model_config = ConfigDict(extra="forbid")
    user_id: str
    name: str = "emulator"


class StatusRequest(BaseModel):
    """Body of ``PUT /_emulator/users/{user_id}/status``."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["ACTIVE", "INVITED", "EXPIRED"]


class SettingsRequest(BaseModel):
    """Body of ``PUT /_emulator/settings``."""

    model_config = ConfigDict(extra="forbid")
    max_key_lifetime_seconds: int | None = None
    enterprise: bool | None = None


class SamlLoginRequest(BaseModel):
    """Body of ``POST /_emulator/saml/login``: who signs in, with which assertion attributes."""

    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3)
    attributes: dict[str, list[str]] = {}
    name: str | None = None


class FileManagedSamlRequest(BaseModel):
    """Body of ``POST /_emulator/saml/file-managed``."""

    model_config = ConfigDict(extra="forbid")
    name: str = "file-managed"
    metadata_url: str
    email_domains: list[str] = Field(min_length=1)
    role_mappings: list[CreateSamlRoleMappingRequest] = []


def _emulator(request: Request) -> Emulator:
    return request.app.state.emulator


@router.get("/health")
async def health() -> dict[str, str]:
    """Readiness probe."""
    return {"status": "ok"}


@router.post("/reset")
async def reset(request: Request, body: ResetRequest | None = None) -> dict[str, str]:
    """Rebuild the account from a seed."""
    body = body or ResetRequest()
    return {"admin_key": _emulator(request).reset(body.seed, body.admin_key)}


@router.get("/state")
async def get_state(request: Request) -> dict[str, Any]:
    """A JSON dump of the account (to compare before/after idempotent reruns)."""
    return state_view(_emulator(request).state)


@router.get("/faults")
async def get_faults(request: Request) -> dict[str, Any]:
    """The current fault configuration and how many faults were injected."""
    faults = _emulator(request).faults
    return faults.config.model_dump() | {"injected": faults.injected}


@router.put("/faults")
async def put_faults(request: Request, body: FaultConfig) -> dict[str, Any]:
    """Replace the fault configuration (reseeds the fault RNG)."""
    _emulator(request).faults.configure(body)
    return body.model_dump()


@router.delete("/faults", status_code=200)
async def clear_faults(request: Request) -> dict[str, Any]:
    """Inject nothing from now on."""
    _emulator(request).faults.configure(FaultConfig())
    return FaultConfig().model_dump()


@router.get("/requests")
async def get_requests(request: Request) -> dict[str, Any]:
    """Request counts by route template and by method (control-plane calls excluded)."""
    return _emulator(request).journal.snapshot()


@router.delete("/requests")
async def clear_requests(request: Request) -> dict[str, Any]:
    """Reset the request counts."""
    journal = _emulator(request).journal
    journal.reset()
    return journal.snapshot()


@router.post("/keys")
async def issue_key(request: Request, body: KeyRequest) -> dict[str, str]:
    """Issue a user API key for any user."""
    return {"key": _emulator(request).state.issue_user_key(body.user_id, name=body.name)}


@router.put("/users/{user_id}/status")
async def force_status(request: Request, user_id: str, body: StatusRequest) -> dict[str, str]:
    """Force a user's invitation state."""
    state = _emulator(request).state
    with state.lock:
        user = state.users.get(user_id)
        if user is None or user.status == "DELETED":
            raise NotFound(f"User '{user_id}' not found.")
        user.status, user.invited_at = body.status, None
        state.changed()
    return {"user_id": user_id, "status": body.status}


@router.put("/settings")
async def put_settings(request: Request, body: SettingsRequest) -> dict[str, Any]:
    """Set account settings that the admin API cannot."""
    state = _emulator(request).state
    seconds = body.max_key_lifetime_seconds
    with state.lock:
        state.max_key_lifetime = timedelta(seconds=seconds) if seconds else None
        if body.enterprise is not None:
            state.enterprise = body.enterprise
        state.changed()
    return {"max_key_lifetime_seconds": seconds, "enterprise": state.enterprise}


@router.post("/saml/login")
async def saml_login(request: Request, body: SamlLoginRequest) -> dict[str, Any]:
    """Sign a user in through SAML: apply the mappings to the stored roles as Arize would."""
    state = _emulator(request).state
    return state.saml_login(email=body.email, attributes=body.attributes, name=body.name)


@router.post("/saml/file-managed", status_code=201)
async def add_file_managed_saml(request: Request, body: FileManagedSamlRequest) -> dict[str, str]:
    """Add a file-managed configuration (the API cannot create one)."""
    idp = _emulator(request).state.add_file_managed_saml_idp(
        name=body.name,
        metadata_url=body.metadata_url,
        email_domains=body.email_domains,
        role_mappings=[m.values() for m in body.role_mappings],
    )
    return {"id": idp.id}
