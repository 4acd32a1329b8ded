"""The Prefect settings a forwarding pass runs under: the process's (or the caller's), with the
forwarder's own client retries, derived once per base settings rather than once per pass."""

from __future__ import annotations

from typing import Any

from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_CLIENT_MAX_RETRIES,
    get_current_settings,
    temporary_settings,
)

from webhooks.forwarder import Forwarder


def _forwarder(client_retries: int) -> Forwarder:
    # client_settings() touches neither the inbox, the router nor the client.
    unused: Any = None
    return Forwarder(unused, unused, unused, client_retries=client_retries)


def test_a_pass_sees_the_forwarders_client_retries_and_nothing_else_changed() -> None:
    forwarder = _forwarder(client_retries=2)
    outside = get_current_settings()
    with temporary_settings(updates={PREFECT_API_URL: "http://prefect.invalid/api"}):
        with forwarder.client_settings():
            assert PREFECT_CLIENT_MAX_RETRIES.value() == 2
            assert PREFECT_API_URL.value() == "http://prefect.invalid/api"
        assert PREFECT_CLIENT_MAX_RETRIES.value() == outside.client.max_retries
    assert get_current_settings() is outside


def test_the_settings_are_derived_again_only_when_the_base_changes() -> None:
    forwarder = _forwarder(client_retries=0)
    with forwarder.client_settings() as first:
        pass
    with forwarder.client_settings() as second:
        pass
    assert second.settings is first.settings
    with (
        temporary_settings(updates={PREFECT_API_URL: "http://other.invalid/api"}),
        forwarder.client_settings() as third,
    ):
        assert PREFECT_API_URL.value() == "http://other.invalid/api"
        assert PREFECT_CLIENT_MAX_RETRIES.value() == 0
    assert third.settings is not first.settings
    with forwarder.client_settings() as fourth:
        assert PREFECT_API_URL.value() == first.settings.api.url
    assert fourth.settings is not third.settings
