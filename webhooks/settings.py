"""Configuration of the webhook service, read from the environment (prefix ``ARIZE_RUNBOOKS_``).

Every source has its own secret. A source whose secret is unset is switched off: its endpoint
answers 404. Outside ``environment="development"`` a placeholder or empty secret refuses to
start, so a copied example config never reaches production.
"""

from __future__ import annotations

import base64
import binascii
import warnings
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Values that only ever appear in examples and docs.
PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "changeme",
        "changethis",
        "change-me",
        "change_me",
        "secret",
        "password",
        "placeholder",
        "todo",
        "xxx",
        "whsec_changeme",
    }
)

#: Secret fields checked by the placeholder validator, with the source each one guards.
SECRET_FIELDS: tuple[str, ...] = (
    "okta_secret",
    "bamboohr_secret",
    "jira_secret",
    "servicenow_token",
    "servicenow_password",
    "generic_secret",
    "slack_signing_secret",
    "slack_bot_token",
)


def default_inbox_url() -> str:
    """The inbox used when none is configured: a SQLite file in ``~/.arize-runbooks``."""
    return f"sqlite+aiosqlite:///{Path.home() / '.arize-runbooks' / 'inbox.db'}"


def decode_whsec(secret: str) -> bytes:
    """Decode a Standard Webhooks secret (``whsec_`` + base64) to its key bytes.

    Raises:
        ValueError: the secret is not ``whsec_`` followed by base64 of 24 to 64 bytes.
    """
    if not secret.startswith("whsec_"):
        raise ValueError("a Standard Webhooks secret starts with 'whsec_'")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a Standard Webhooks secret is 'whsec_' followed by base64") from exc
    if not 24 <= len(key) <= 64:
        raise ValueError("a Standard Webhooks secret decodes to 24-64 bytes")
    return key


class Settings(BaseSettings):
    """Settings of ``arize-runbooks serve``.

    Attributes are read from ``ARIZE_RUNBOOKS_<NAME>`` environment variables, e.g.
    ``ARIZE_RUNBOOKS_OKTA_SECRET``.
    """

    model_config = SettingsConfigDict(
        env_prefix="ARIZE_RUNBOOKS_",
        extra="ignore",
        validate_default=True,
    )

    environment: Literal["development", "test", "production"] = Field(
        default="production",
        description="'development' allows placeholder secrets (with a warning), others refuse.",
    )

    # --- sources -------------------------------------------------------------------------
    okta_secret: SecretStr | None = Field(
        default=None, description="Okta event hook: the exact value Okta sends in the auth header."
    )
    okta_auth_header: str = Field(
        default="Authorization", description="Header the Okta event hook sends its secret in."
    )
    bamboohr_secret: SecretStr | None = Field(
        default=None, description="BambooHR webhook private key (HMAC-SHA256 of body + timestamp)."
    )
    jira_secret: SecretStr | None = Field(
        default=None, description="Jira admin webhook secret (X-Hub-Signature: sha256=...)."
    )
    servicenow_token: SecretStr | None = Field(
        default=None, description="ServiceNow / JSM automation: expected 'Authorization: Bearer'."
    )
    servicenow_username: str | None = Field(
        default=None, description="ServiceNow basic-auth user name (with servicenow_password)."
    )
    servicenow_password: SecretStr | None = Field(
        default=None, description="ServiceNow basic-auth password."
    )
    generic_secret: SecretStr | None = Field(
        default=None, description="Standard Webhooks signing secret, 'whsec_' + base64."
    )

    # --- Slack (read by webhooks.routes.slack) ---------------------------------------------
    slack_signing_secret: SecretStr | None = Field(
        default=None, description="Slack app signing secret (v0 request signatures)."
    )
    slack_bot_token: SecretStr | None = Field(default=None, description="Slack bot token.")
    slack_base_url: str | None = Field(
        default=None, description="Slack Web API base URL; set to the Slack emulator in tests."
    )

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

    @field_validator("generic_secret")
    @classmethod
    def _whsec_format(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().lower() not in PLACEHOLDER_SECRETS:
            decode_whsec(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _enforce_non_default_secrets(self) -> Settings:
        for name in SECRET_FIELDS:
            value: SecretStr | None = getattr(self, name)
            if value is None:
                continue
            if value.get_secret_value().strip().lower() not in PLACEHOLDER_SECRETS:
                continue
            message = (
                f"{name} is empty or a placeholder; set ARIZE_RUNBOOKS_{name.upper()} to a real "
                "secret, or unset it to switch the source off"
            )
            if self.environment != "development":
                raise ValueError(message)
            warnings.warn(message, stacklevel=2)
        if (self.servicenow_username is None) != (self.servicenow_password is None):
            raise ValueError("servicenow_username and servicenow_password are set together")
        return self
