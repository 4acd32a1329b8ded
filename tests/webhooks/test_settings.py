"""Settings: placeholder secrets refused outside development; nothing read at import."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from webhooks.settings import Settings


@pytest.mark.parametrize("value", ["", "changethis", "CHANGEME", " secret "])
def test_placeholder_secrets_are_refused_outside_development(value: str) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(environment="production", okta_secret=value)
    assert "okta_secret is empty or a placeholder" in str(info.value)
    assert "ARIZE_RUNBOOKS_OKTA_SECRET" in str(info.value)


def test_placeholder_secrets_warn_in_development() -> None:
    with pytest.warns(UserWarning, match="jira_secret is empty or a placeholder"):
        Settings(environment="development", jira_secret="changethis")


def test_env_prefix_and_secret_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARIZE_RUNBOOKS_BAMBOOHR_SECRET", "real-key-0f3a")
    monkeypatch.setenv("ARIZE_RUNBOOKS_MAX_BODY_BYTES", "1024")
    settings = Settings()
    assert settings.bamboohr_secret is not None
    assert settings.bamboohr_secret.get_secret_value() == "real-key-0f3a"
    assert settings.max_body_bytes == 1024
    assert "real-key-0f3a" not in repr(settings)


def test_generic_secret_must_be_whsec() -> None:
    with pytest.raises(ValidationError, match="whsec_"):
        Settings(generic_secret="plain-secret-value")


def test_servicenow_basic_needs_both_halves() -> None:
    with pytest.raises(ValidationError, match="set together"):
        Settings(servicenow_username="svc")


def test_the_service_reads_the_shared_model_with_one_naming_scheme(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from config.settings import RunbooksSettings

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-slack-own-name-1")
    monkeypatch.setenv("ARIZE_RUNBOOKS_SERVICE_KEY", "service-key-for-this-test-01")

    settings = Settings()

    assert isinstance(settings, RunbooksSettings)
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-slack-own-name-1"
    monkeypatch.setenv("ARIZE_RUNBOOKS_SLACK_BOT_TOKEN", "xoxb-project-name-2")
    assert Settings().slack_bot_token.get_secret_value() == "xoxb-project-name-2"


def test_a_placeholder_service_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="ARIZE_RUNBOOKS_SERVICE_KEY"):
        Settings(environment="production", service_key="changeme")


def test_the_fingerprint_is_short_stable_and_not_the_key() -> None:
    one = Settings(service_key="a-long-random-service-key-0001")
    other = Settings(service_key="a-long-random-service-key-0002")

    assert one.service_key_fingerprint == Settings(
        service_key="a-long-random-service-key-0001").service_key_fingerprint
    assert one.service_key_fingerprint != other.service_key_fingerprint
    assert len(one.service_key_fingerprint) == 12
    assert one.service_key_fingerprint not in "a-long-random-service-key-0001"


def test_what_is_missing_is_named_by_variable() -> None:
    settings = Settings(slack_signing_secret="signing-secret-for-test-01", okta_secret="okta-01")

    assert settings.unconfigured_sources({"okta", "jira", "servicenow"}) == {
        "jira": "ARIZE_RUNBOOKS_JIRA_SECRET",
        "servicenow": "ARIZE_RUNBOOKS_SERVICENOW_TOKEN or ARIZE_RUNBOOKS_SERVICENOW_PASSWORD",
    }
    assert "ARIZE_RUNBOOKS_SLACK_BOT_TOKEN" in settings.slack_half_configured()
