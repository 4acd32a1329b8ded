"""The settings every process reads: ``serve``, the CLI and the workers' flow-run processes.

One model, one naming scheme: field ``okta_secret`` is the variable ``ARIZE_RUNBOOKS_OKTA_SECRET``.
The one alias kept is ``SLACK_BOT_TOKEN`` for ``ARIZE_RUNBOOKS_SLACK_BOT_TOKEN`` (the name
Slack's own docs use). The webhook service extends this model with its own knobs
(``webhooks.settings.Settings``); the flows read only the service key from it.

Every source has its own secret. A source whose secret is unset is switched off. Outside
``environment="development"`` a placeholder or empty secret is refused, so a copied example
config never reaches production.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import warnings
from dataclasses import dataclass
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
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

#: Secret fields checked by the placeholder validator.
SECRET_FIELDS: tuple[str, ...] = (
    "service_key",
    "okta_secret",
    "bamboohr_secret",
    "jira_secret",
    "servicenow_token",
    "servicenow_password",
    "generic_secret",
    "slack_signing_secret",
    "slack_bot_token",
)


def env_name(field: str) -> str:
    """The variable of a settings field: ``okta_secret`` → ``ARIZE_RUNBOOKS_OKTA_SECRET``."""
    return ENV_PREFIX + field.upper()


@dataclass(frozen=True)
class Source:
    """A webhook source as the service accepts it: where, which secret, how it is signed."""

    name: str
    path: str
    secret_fields: tuple[str, ...]
    scheme: str

    @property
    def variables(self) -> tuple[str, ...]:
        """The environment variables that switch the source on (any one of them)."""
        return tuple(env_name(f) for f in self.secret_fields)


#: Every webhook source of the service, in the README's order.
SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("okta", "/webhooks/okta", ("okta_secret",),
               "the secret verbatim in the Authorization header (Okta event hook)"),
        Source("bamboohr", "/webhooks/bamboohr", ("bamboohr_secret",),
               "X-BambooHR-Signature: hex HMAC-SHA256 of body + X-BambooHR-Timestamp"),
        Source("jira", "/webhooks/jira", ("jira_secret",),
               "X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>"),
        Source("servicenow", "/webhooks/servicenow", ("servicenow_token", "servicenow_password"),
               "Authorization: Bearer <token>, or Basic with ARIZE_RUNBOOKS_SERVICENOW_USERNAME"),
        Source("generic", "/webhooks/generic", ("generic_secret",),
               "Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature v1 (whsec_)"),
    )
}


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

    @field_validator("generic_secret")
    @classmethod
    def _whsec_format(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().lower() not in PLACEHOLDER_SECRETS:
            decode_whsec(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _enforce_non_default_secrets(self) -> RunbooksSettings:
        for name in SECRET_FIELDS:
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
        if (self.servicenow_username is None) != (self.servicenow_password is None):
            raise ValueError(
                "servicenow_username and servicenow_password are set together "
                "(ARIZE_RUNBOOKS_SERVICENOW_USERNAME, ARIZE_RUNBOOKS_SERVICENOW_PASSWORD)"
            )
        return self

    # --- what is missing, by variable name ----------------------------------------------

    def source_configured(self, source: str) -> bool:
        """Whether ``source`` has its secret (any of its secret fields)."""
        return any(getattr(self, f) is not None for f in SOURCES[source].secret_fields)

    def unconfigured_sources(self, sources: set[str] | list[str]) -> dict[str, str]:
        """Each of ``sources`` lacking its secret → the variable to set."""
        return {
            s: " or ".join(SOURCES[s].variables)
            for s in sorted(set(sources))
            if s in SOURCES and not self.source_configured(s)
        }

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
