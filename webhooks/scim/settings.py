"""The SCIM endpoint's settings, ``ARIZE_RUNBOOKS_SCIM_<FIELD>``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.settings import ENV_PREFIX


class ScimSettings(BaseSettings):
    """Settings of ``/scim/v2``. The bearer tokens are in the database (``scim token``)."""

    model_config = SettingsConfigDict(env_prefix=f"{ENV_PREFIX}SCIM_", extra="ignore")

    enabled: bool = Field(default=True, description="Serve /scim/v2 (false: 404).")
    max_members: int = Field(
        default=5000, gt=0, description="Most members a Group may hold (larger writes: 400)."
    )
    max_body_bytes: int = Field(
        default=1_048_576, gt=0, description="Largest request body accepted (larger: 413)."
    )
    token_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description=(
            "How long a process keeps a bearer token it found live without reading the "
            "database again, so how long a revoked token may still be accepted (0: read "
            "the database on every request)."
        ),
    )
    flush_seconds: float = Field(
        default=0.5, gt=0, description="How often the request log is written (in batches)."
    )
    sweep_seconds: float = Field(
        default=10.0,
        gt=0,
        description=(
            "How often, and after how long, changes committed by a process that died before "
            "handing them to the inbox are handed over by another."
        ),
    )
