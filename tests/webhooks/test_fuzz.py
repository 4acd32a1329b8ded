"""Fuzz every endpoint of the live service from its own OpenAPI document: never a 5xx.

(``schemathesis.pytest.from_fixture`` does not run under pytest 9, so each operation's
hypothesis strategy is driven directly, and neither library's pytest plugin is loaded:
pyproject.toml turns both off. They are imported in the test, not here: every xdist worker
collects this module, and only one runs it.)
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.webhooks import OKTA_SECRET, SERVICENOW_TOKEN

pytestmark = pytest.mark.slow

#: Sources authenticated by a header alone get valid credentials, so generated bodies reach
#: parsing, routing and the inbox (the signed sources are fuzzed up to their 401).
_CREDENTIALS = {
    "/webhooks/okta": {"Authorization": OKTA_SECRET},
    "/webhooks/servicenow": {"Authorization": f"Bearer {SERVICENOW_TOKEN}"},
}


# schemathesis' own strategies draw from `random`, which hypothesis deprecates; not our code.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_no_server_errors(webhook_service: Any) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(f"{webhook_service.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {
        "/webhooks/okta",
        "/webhooks/bamboohr",
        "/webhooks/jira",
        "/webhooks/servicenow",
        "/webhooks/generic",
        "/health",
    }
    seen: dict[str, set[int]] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            if case.method == "POST" and case.path in _CREDENTIALS:
                case.headers = {**(case.headers or {}), **_CREDENTIALS[case.path]}
            response = case.call(timeout=30)
            label = f"{case.method} {case.path}"
            seen.setdefault(label, set()).add(response.status_code)
            assert response.status_code < 500, (label, response.status_code, response.text)

        check()
    assert seen, "nothing was generated"
