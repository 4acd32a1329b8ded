"""Configuration of the webhook service: the shared settings plus the service's own knobs.

The sources' secrets, Slack and the service key are in :class:`config.settings.RunbooksSettings`
(read by every process); this subclass adds the inbox, the forwarder and the limits. All are
read from ``ARIZE_RUNBOOKS_<NAME>`` variables.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from config.settings import (
    PLACEHOLDER_SECRETS,
    SECRET_FIELDS,
    SOURCES,
    RunbooksSettings,
    decode_whsec,
    env_name,
)

__all__ = [
    "PLACEHOLDER_SECRETS",
    "SECRET_FIELDS",
    "SOURCES",
    "Settings",
    "decode_whsec",
    "default_inbox_url",
    "env_name",
]


def default_inbox_url() -> str:
    """The inbox used when none is configured: a SQLite file in ``~/.arize-runbooks``."""
    return f"sqlite+aiosqlite:///{Path.home() / '.arize-runbooks' / 'inbox.db'}"


class Settings(RunbooksSettings):
    """Settings of ``arize-runbooks serve``.

    Attributes are read from ``ARIZE_RUNBOOKS_<NAME>`` environment variables, e.g.
    ``ARIZE_RUNBOOKS_OKTA_SECRET``.
    """

    # --- Prefect and inbox -----------------------------------------------------------------
    prefect_api_url: str | None = Field(
        default=None,
        description="Prefect API the forwarder creates runs on; default: Prefect's own settings.",
    )
    inbox_url: str = Field(
        default_factory=default_inbox_url,
        description="SQLAlchemy async URL of the inbox (sqlite+aiosqlite:// or postgresql+asyncpg://).",
    )
    inbox_migrate: bool = Field(
        default=True,
        description=(
            "Migrate the inbox schema on start-up (safe with many replicas); false: only check "
            "it and refuse to start on an out-of-date schema (run `arize-runbooks inbox migrate`)."
        ),
    )
    inbox_group_commit: bool = Field(
        default=True,
        description="Commit concurrent deliveries in one shared transaction (each still waits).",
    )
    inbox_pool_size: int = Field(
        default=10, gt=0, description="Connections kept open to a PostgreSQL inbox."
    )
    routing_config: Path | None = Field(
        default=None,
        description="Routing YAML; without one every event is dead-lettered as unroutable.",
    )

    # --- limits ----------------------------------------------------------------------------
    max_body_bytes: int = Field(
        default=256 * 1024, gt=0, description="Largest accepted request body; larger is 413."
    )
    replay_window_seconds: int = Field(
        default=300, gt=0, description="Signed timestamps further than this from now are refused."
    )

    # --- forwarder -------------------------------------------------------------------------
    forwarder_enabled: bool = Field(
        default=True, description="Run the background forwarder inside the service."
    )
    slack_expiry_sweep_seconds: float = Field(
        default=60.0,
        ge=0,
        description=(
            "How often to mark Slack messages of suspended runs whose approval timed out "
            "(Prefect fails those runs with no flow code running); 0 turns the sweep off."
        ),
    )
    forwarder_poll_seconds: float = Field(
        default=5.0, gt=0, description="How often the forwarder looks for due events when idle."
    )
    forwarder_concurrency: int = Field(
        default=8, gt=0, description="Flow runs created at once by the forwarder."
    )
    forwarder_batch_size: int = Field(default=100, gt=0, description="Events per forward pass.")
    forwarder_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description=(
            "How long a forwarder's claim on an event holds; a replica that dies holding "
            "events delays them by at most this long."
        ),
    )
    forwarder_backoff_base: float = Field(
        default=1.0, gt=0, description="First retry delay while Prefect is unreachable (s)."
    )
    forwarder_backoff_max: float = Field(
        default=60.0, gt=0, description="Longest retry delay while Prefect is unreachable (s)."
    )
    forwarder_max_attempts: int = Field(
        default=20,
        gt=0,
        description="Attempts after which an event failing with an unexpected error is dead.",
    )
    prefect_client_retries: int = Field(
        default=0,
        ge=0,
        description="Retries inside the Prefect client per call; the forwarder backs off itself.",
    )
