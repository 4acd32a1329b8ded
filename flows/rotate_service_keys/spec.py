"""The rotate-service-keys spec; its field descriptions become the Prefect UI's run form."""

from __future__ import annotations

from pydantic import Field

from core.planning.specs import (
    SpecModel,
)


class RotateServiceKeysSpec(SpecModel):
    """Which service keys rotate, and when."""

    name_pattern: str = Field(default="*", description="Glob on key names, e.g. ci-*.")
    space: str | None = Field(default=None, description="Only keys of this space (by name).")
    max_age_days: int = Field(
        default=90, ge=1, description="Rotate keys whose secret is older than this."
    )
    expiring_within_days: int = Field(
        default=14, ge=0, description="Also rotate keys that expire within this many days."
    )
    grace_period_seconds: int = Field(
        default=3600,
        ge=60,
        le=86400,
        description="How long the old secret keeps working, so consumers never hold a dead key.",
    )
    revoke_expired: bool = Field(
        default=False,
        description="Revoke keys already past their expiry (destructive, needs approval).",
    )
    replace_expiring: bool = Field(
        default=True,
        description=(
            "Replace keys that expire within expiring_within_days with a new key of the same "
            "name, roles and bindings (a refresh cannot extend an expiry); off: report them."
        ),
    )
    replacement_lifetime_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Lifetime of a replacement key; empty: the lifetime of the key it replaces.",
    )
