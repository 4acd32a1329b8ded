"""doctor's SCIM rows: bad settings name their variable; routing SCIM without its leavers
fails; no SCIM routes at all is a note."""

from __future__ import annotations

import pytest

from tests.scim.conftest import ROUTING
from webhooks.routing import Router
from webhooks.scim.checks import scim_findings


def test_example_routing_is_healthy() -> None:
    findings = scim_findings(Router.from_file(ROUTING))
    assert [f.ok for f in findings] == [True]


def test_bad_setting_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARIZE_RUNBOOKS_SCIM_MAX_MEMBERS", "-3")
    [finding] = scim_findings(None)
    assert finding.ok is False and "ARIZE_RUNBOOKS_SCIM_MAX_MEMBERS" in finding.detail


def test_scim_routes_without_leavers_fail() -> None:
    router = Router.from_yaml(
        """
routes:
  - name: joiner
    source: scim
    event_type: user.created
    deployment: onboard-team/onboard-team
    parameters: {spec: {organization: Acme, space: general}}
"""
    )
    findings = scim_findings(router)
    assert findings[-1].ok is False
    assert "user.deactivated, user.deleted" in findings[-1].detail


def test_no_scim_routes_is_a_note() -> None:
    assert scim_findings(Router.empty())[-1].ok is None


def test_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARIZE_RUNBOOKS_SCIM_ENABLED", "false")
    [finding] = scim_findings(None)
    assert finding.ok is None and "404" in finding.detail
