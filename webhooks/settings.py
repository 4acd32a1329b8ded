"""Configuration of the webhook service: the shared settings, every source's, and its own knobs.

Slack and the service key are in :class:`config.settings.RunbooksSettings` (read by every
process); each webhook source brings its settings model (``webhooks/sources/<name>.py``),
which this class inherits, so ``okta_secret`` is read from ``ARIZE_RUNBOOKS_OKTA_SECRET``; the
service adds the inbox, the forwarder and the limits. All are read from
``ARIZE_RUNBOOKS_<NAME>`` variables.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import Field
from sqlalchemy.engine import make_url

from config.settings import RunbooksSettings
from webhooks.evidence.sinks import SiemSettings
from webhooks.sources import SOURCES, source_named

__all__ = ["Settings", "default_inbox_url"]

#: The settings models of the sources, in the order of :data:`SOURCES`.
_SOURCE_SETTINGS = tuple(dict.fromkeys(source.settings for source in SOURCES.values()))


def default_inbox_url() -> str:
    """The inbox used when none is configured: a SQLite file in ``~/.arize-runbooks``."""
    return f"sqlite+aiosqlite:///{Path.home() / '.arize-runbooks' / 'inbox.db'}"


class Settings(RunbooksSettings, *_SOURCE_SETTINGS, SiemSettings):  # type: ignore[misc]
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
    serve_workers: int = Field(
        default=1,
        ge=1,
        le=32,
        description=(
            "Processes of `serve` answering on its one port (uvicorn workers), each with "
            "its own event loop and forwarder; more than 1 needs a PostgreSQL inbox."
        ),
    )
    routing_config: Path | None = Field(
        default=None,
        description="Routing YAML; without one every event is dead-lettered as unroutable.",
    )

    # --- limits ----------------------------------------------------------------------------
    max_body_bytes: int = Field(
        default=256 * 1024, gt=0, description="Largest accepted request body; larger is 413."
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

    # --- sources, by variable name ----------------------------------------------------------

    def source_configured(self, source: str) -> bool:
        """Whether ``source`` has its secret (any of its secret fields)."""
        return source_named(source).configured(self)

    def unconfigured_sources(self, sources: Iterable[str]) -> dict[str, str]:
        """Each of ``sources`` lacking its secret → the variable(s) to set."""
        return {
            name: " or ".join(SOURCES[name].variables)
            for name in sorted(set(sources))
            if name in SOURCES and not SOURCES[name].configured(self)
        }

    def problems(self, routed_sources: Iterable[str]) -> list[str]:
        """What stops the service from doing its job with routes from ``routed_sources``, each
        naming the variable to set: ``/readyz`` names them, and ``serve`` refuses to start.

        Here, beside the settings, and not in the app: ``serve`` asks before it builds the app
        (FastAPI, SCIM, Prefect: 2 s of imports), so a refusal is quick.
        """
        problems = []
        if self.service_key is None:
            problems.append(
                "ARIZE_RUNBOOKS_SERVICE_KEY is not set: triggers and Slack votes cannot be "
                "signed (the same key must be set for the workers)"
            )
        for source, variable in self.unconfigured_sources(routed_sources).items():
            problems.append(f"{variable} is not set: the routing file has {source} routes")
        half = self.slack_half_configured()
        if half:
            problems.append(half)
        siem = self.siem_half_configured()
        if siem:
            problems.append(siem)
        # The inbox's database, read from its URL as the inbox reads it.
        if self.serve_workers > 1 and make_url(self.inbox_url).get_backend_name() != "postgresql":
            # Each worker is a replica of its own; SQLite's one writer would serialise them
            # on its file lock, and its inbox and SCIM locks are per process (docs/inbox.md).
            problems.append(
                f"ARIZE_RUNBOOKS_SERVE_WORKERS (--workers) is {self.serve_workers}: several "
                "workers need a PostgreSQL inbox; set ARIZE_RUNBOOKS_INBOX_URL to "
                "postgresql+asyncpg://user:pw@host/db, or run 1 worker on SQLite"
            )
        return problems
