"""The routing config: validation errors name the route and field; templates render typed
values; the shipped example config is valid and routes the documented events."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app as cli_app
from tests.fixtures.webhooks import ROUTING_EXAMPLE, test_settings
from tests.webhooks.conftest import signed_by_the_service
from webhooks.app import create_app
from webhooks.routing import Router, RoutingConfigError, Unroutable

ROUTE = """\
routes:
  - name: ok
    source: okta
    event_type: user.lifecycle.deactivate
    deployment: offboard-user/offboard-user
    parameters: {{spec: {{email: "{{{{ payload.target[type=User].alternateId }}}}"}}}}
  - name: {name}
    source: {source}
    event_type: x
    deployment: {deployment}
    parameters: {parameters}
"""


def _errors(**fields: str) -> list[str]:
    values = {
        "name": "second",
        "source": "okta",
        "deployment": "offboard-user/offboard-user",
        "parameters": "{spec: {}}",
    } | fields
    with pytest.raises(RoutingConfigError) as info:
        Router.from_yaml(ROUTE.format(**values), path="routing.yaml")
    assert str(info.value).startswith("routing.yaml: invalid routing config")
    return info.value.errors


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"source": "workday"}, "routes[1] (second).source: unknown source 'workday'; use one of"),
        ({"deployment": "offboard-user"}, "routes[1] (second).deployment: String should match"),
        (
            {"parameters": "{spec: {}, policy: default}"},
            "routes[1] (second).parameters: unknown flow parameter(s) ['policy']",
        ),
        ({"parameters": "{dry_run: true}"}, "routes[1] (second).parameters: 'spec' is required"),
        (
            {"parameters": "{spec: {email: '{{ payload.email | lowr }}'}}"},
            "routes[1] (second).parameters: spec.email: unknown filter 'lowr'",
        ),
        (
            {"parameters": "{spec: {email: '{{ body.email }}'}}"},
            "routes[1] (second).parameters: spec.email: unknown root 'body'",
        ),
        (
            {"parameters": "{spec: {members: {$each: 'x', $as: {}}}}"},
            "routes[1] (second).parameters: spec.members: '$each' must be a single",
        ),
    ],
)
def test_config_errors_name_route_and_field(fields: dict[str, str], expected: str) -> None:
    errors = _errors(**fields)
    assert any(e.startswith(expected) for e in errors), errors


def test_condition_needs_exactly_one_operator() -> None:
    text = (
        ROUTE.format(name="c", source="okta", deployment="a/b", parameters="{spec: {}}")
        + "    conditions: [{field: payload.x, equals: 1, in: [1]}]\n"
    )
    with pytest.raises(RoutingConfigError) as info:
        Router.from_yaml(text)
    assert info.value.errors == [
        "routes[1] (c).conditions[0]: give exactly one of: equals, in, contains, exists"
    ]


def test_not_yaml_and_missing_file() -> None:
    with pytest.raises(RoutingConfigError, match="not valid YAML"):
        Router.from_yaml("routes: [")
    with pytest.raises(RoutingConfigError, match="cannot read"):
        Router.from_file("/nonexistent/routing.yaml")


def test_bad_config_stops_startup_and_serve(tmp_path: Path) -> None:
    bad = tmp_path / "routing.yaml"
    bad.write_text(
        "routes:\n  - {source: okta, event_type: x, deployment: nope, parameters: {spec: {}}}\n"
    )
    settings = test_settings(
        inbox_url=f"sqlite+aiosqlite:///{tmp_path / 'i.db'}",
        prefect_api_url=None,
        routing_config=bad,
    )
    with pytest.raises(RoutingConfigError, match=r"routes\[0\]\.deployment"):
        create_app(settings)
    result = CliRunner().invoke(cli_app, ["serve", "--config", str(bad)])
    assert result.exit_code == 2
    assert "routes[0].deployment" in result.output


def test_templates_keep_types_and_interpolate() -> None:
    router = Router.from_data(
        {
            "routes": [
                {
                    "source": "generic",
                    "event_type": ["a", "b"],
                    "conditions": [
                        {"field": "payload.data.tags", "contains": "go"},
                        {"field": "payload.data.n", "in": [1, 2]},
                        {"field": "payload.data.missing", "exists": False},
                    ],
                    "deployment": "f/f",
                    "parameters": {
                        "spec": {
                            "list": "{{ payload.data.tags }}",
                            "first": "{{ payload.data.tags | first | upper }}",
                            "text": "n={{ payload.data.n }} id={{ event.event_id }}",
                            "none": "{{ payload.data.missing }}",
                            "dflt": "{{ payload.data.missing | default('x') }}",
                            "joined": "{{ payload.data.tags | join(', ') }}",
                            "split": "{{ payload.data.csv | split(',') }}",
                            "picked": "{{ payload.data.people[role=lead].name }}",
                            "idx": "{{ payload.data.people[-1].name }}",
                            "each": {
                                "$each": "{{ payload.data.people }}",
                                "$as": {"n": "{{ item.name }}"},
                            },
                        },
                        "dry_run": "{{ payload.data.dry | bool }}",
                    },
                    "trigger": {"ticket": "T-{{ payload.data.n }}"},
                }
            ]
        }
    )
    payload = {
        "data": {
            "tags": ["go", "py"],
            "n": 2,
            "csv": "a, b,,c",
            "dry": "yes",
            "people": [{"name": "A", "role": "lead"}, {"name": "B"}],
        }
    }
    routed = router.route(source="generic", event_id="e1", event_type="b", payload=payload)
    assert signed_by_the_service(routed.parameters) == {
        "spec": {
            "list": ["go", "py"],
            "first": "GO",
            "text": "n=2 id=e1",
            "none": None,
            "dflt": "x",
            "joined": "go, py",
            "split": ["a", "b", "c"],
            "picked": "A",
            "idx": "B",
            "each": [{"n": "A"}, {"n": "B"}],
        },
        "dry_run": True,
        "trigger": {"source": "generic", "event_id": "e1", "ticket": "T-2", "requested_by": None},
    }
    with pytest.raises(Unroutable, match="no route matches generic event type 'c'"):
        router.route(source="generic", event_id="e2", event_type="c", payload=payload)
    with pytest.raises(Unroutable):
        router.route(source="generic", event_id="e3", event_type="a", payload={"data": {"n": 3}})


def test_non_boolean_dry_run_is_unroutable() -> None:
    router = Router.from_data(
        {
            "routes": [
                {
                    "source": "generic",
                    "event_type": "*",
                    "deployment": "f/f",
                    "parameters": {"spec": {}, "dry_run": "{{ payload.dry }}"},
                }
            ]
        }
    )
    with pytest.raises(Unroutable, match="dry_run rendered to 'maybe'"):
        router.route(source="generic", event_id="e", event_type="t", payload={"dry": "maybe"})


def test_shipped_example_is_valid_and_complete() -> None:
    router = Router.from_file(ROUTING_EXAMPLE)
    pairs = {(r.source, r.deployment) for r in router.config.routes}
    assert ("okta", "offboard-user/offboard-user") in pairs
    assert ("bamboohr", "offboard-user/offboard-user") in pairs
    assert ("jira", "onboard-team/onboard-team") in pairs
    assert ("jira", "restrict-project/restrict-project") in pairs
    assert ("servicenow", "offboard-user/offboard-user") in pairs
    assert ("servicenow", "onboard-team/onboard-team") in pairs
    assert {d for s, d in pairs if s == "generic"} == {
        f"{n}/{n}"
        for n in (
            "offboard-user",
            "onboard-team",
            "restrict-project",
            "saml-role-mapping",
            "rotate-service-keys",
        )
    }
