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
