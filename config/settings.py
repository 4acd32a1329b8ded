"""The settings every process reads: ``serve``, the CLI and the workers' flow-run processes.

One model, one naming scheme: field ``service_key`` is the variable
``ARIZE_RUNBOOKS_SERVICE_KEY``. The one alias kept is ``SLACK_BOT_TOKEN`` for
``ARIZE_RUNBOOKS_SLACK_BOT_TOKEN`` (the name Slack's own docs use). The webhook service extends
this model with its own knobs and every webhook source's settings
(``webhooks.settings.Settings``, e.g. ``okta_secret`` from ``ARIZE_RUNBOOKS_OKTA_SECRET``); the
flows read only the service key from it.

Outside ``environment="development"`` a placeholder or empty secret (any ``SecretStr`` field,
the subclass's included) is refused, so a copied example config never reaches production.
"""

from __future__ import annotations

import hashlib
import hmac
import warnings
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "ARIZE_RUNBOOKS_"

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


def env_name(field: str) -> str:
    """The variable of a settings field: ``okta_secret`` → ``ARIZE_RUNBOOKS_OKTA_SECRET``."""
    return ENV_PREFIX + field.upper()


def fingerprint(key: SecretStr | str | bytes | None) -> str | None:
    """A short public fingerprint of the service key (keyed hash, 12 hex digits); None if unset.

    Two processes with the same fingerprint hold the same key; the fingerprint reveals nothing
    that would help guess the key.
    """
    if key is None:
        return None
    raw = key.get_secret_value() if isinstance(key, SecretStr) else key
    data = raw.encode() if isinstance(raw, str) else raw
    if not data:
        return None
    mac = hmac.new(data, b"arize-runbooks service key fingerprint", hashlib.sha256)
    return mac.hexdigest()[:12]


class RunbooksSettings(BaseSettings):
    """What every process of arize-runbooks reads from ``ARIZE_RUNBOOKS_<FIELD>`` variables."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        validate_default=True,
        populate_by_name=True,
    )

    environment: Literal["development", "test", "production"] = Field(
        default="production",
        description="'development' allows placeholder secrets (with a warning), others refuse.",
    )

    # --- shared by the webhook service and the workers --------------------------------------
    service_key: SecretStr | None = Field(
        default=None,
        description=(
            "Key the service signs triggers and Slack votes with and the flows verify; the same "
            "value for `serve` and every worker (`setup` generates it into the env file)."
        ),
    )

    # --- Slack ---------------------------------------------------------------------------
    slack_signing_secret: SecretStr | None = Field(
        default=None, description="Slack app signing secret (v0 request signatures)."
    )
    slack_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "ARIZE_RUNBOOKS_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN", "slack_bot_token"
        ),
        description="Slack bot token (ARIZE_RUNBOOKS_SLACK_BOT_TOKEN, or SLACK_BOT_TOKEN).",
    )
    slack_base_url: str | None = Field(
        default=None,
        description="Slack Web API base URL: only for Enterprise Grid's own host or the emulator.",
    )

    @classmethod
    def secret_fields(cls) -> tuple[str, ...]:
        """The fields holding secrets (typed ``SecretStr``), subclasses' included: each is
        checked against the placeholders and written to the env file by ``setup``."""
        return tuple(
            name
            for name, info in cls.model_fields.items()
            if info.annotation in (SecretStr, SecretStr | None)
        )

    @model_validator(mode="after")
    def _enforce_non_default_secrets(self) -> RunbooksSettings:
        for name in type(self).secret_fields():
            value: SecretStr | None = getattr(self, name)
            if value is None:
                continue
            if value.get_secret_value().strip().lower() not in PLACEHOLDER_SECRETS:
                continue
            message = (
                f"{name} is empty or a placeholder; set {env_name(name)} to a real "
                "secret, or unset it"
            )
            if self.environment != "development":
                raise ValueError(message)
            warnings.warn(message, stacklevel=2)
        return self

    # --- what is missing, by variable name ----------------------------------------------

    def slack_half_configured(self) -> str | None:
        """What is missing when only one of the Slack token and signing secret is set."""
        token, secret = self.slack_bot_token is not None, self.slack_signing_secret is not None
        if token and not secret:
            return (
                "ARIZE_RUNBOOKS_SLACK_SIGNING_SECRET is not set but the bot token is: "
                "Slack clicks would be refused"
            )
        if secret and not token:
            return (
                "ARIZE_RUNBOOKS_SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN) is not set but the signing "
                "secret is: clicks could not be answered"
            )
        return None

    @property
    def service_key_fingerprint(self) -> str | None:
        """The service key's public fingerprint (see :func:`fingerprint`)."""
        return fingerprint(self.service_key)
