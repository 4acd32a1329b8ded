"""SIEM settings: a half-configured HEC or a malformed syslog address is named before start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from webhooks.app import create_app
from webhooks.evidence.sinks import HecSink, JsonlSink, SyslogSink
from webhooks.settings import Settings


def test_hec_needs_its_url_and_its_token():
    problems = create_app(
        Settings(environment="test", siem_hec_url="https://splunk.example:8088")
    ).state.config_problems
    assert any("ARIZE_RUNBOOKS_SIEM_HEC_TOKEN is not set" in p for p in problems)


def test_a_syslog_address_without_a_port_is_refused_naming_the_setting():
    with pytest.raises(ValidationError, match="siem_syslog_address"):
        Settings(environment="test", siem_syslog_address="siem.example")


def test_configured_sinks_in_a_fixed_order_and_no_token_in_their_repr(tmp_path):
    settings = Settings(
        environment="test",
        siem_hec_url="https://splunk.example:8088",
        siem_hec_token="hec-secret-token-1f2e",
        siem_syslog_address="siem.example:6514",
        siem_syslog_tls=True,
        siem_jsonl_path=tmp_path / "events.jsonl",
    )
    sinks = settings.siem_sinks()
    assert [type(s) for s in sinks] == [HecSink, SyslogSink, JsonlSink]
    assert [s.name for s in sinks] == ["hec", "syslog", "jsonl"]
    assert "hec-secret-token-1f2e" not in repr(sinks)
    assert isinstance(sinks[1], SyslogSink) and sinks[1].tls is not None
