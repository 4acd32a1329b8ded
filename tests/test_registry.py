"""The registry, prefect.yaml, examples/ and the CLI agree; no Prefect server needed."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml
from prefect.utilities.callables import parameter_schema
from typer.testing import CliRunner

from cli.main import app
from cli.run import RunbookName
from core.planning.changes import CHANGE_MODELS
from core.planning.context import PLANNER_PARAMETERS
from flows.registry import EXAMPLES, REGISTRY, RUNBOOKS, Runbook, get

ROOT = Path(__file__).parents[1]
PREFECT_YAML = yaml.safe_load((ROOT / "prefect.yaml").read_text())
DEPLOYMENTS = {d["name"]: d for d in PREFECT_YAML["deployments"]}


def test_names_are_unique_and_the_flow_is_named_like_the_runbook():
    names = [r.name for r in REGISTRY]
    assert len(names) == len(set(names))
    assert all(r.flow.name == r.name for r in REGISTRY)
    assert list(RUNBOOKS) == names


def test_prefect_yaml_deploys_exactly_the_registry():
    # The revokes of grant-temporary-access are deployments without a spec, not runbooks; so
    # is doctor's probe of a worker's environment.
    services = {"revoke-temporary-access", "revoke-expired-access", "probe-environment"}
    services |= {"detect-drift"}  # account-as-code's nightly plan: reports, never applies
    assert set(DEPLOYMENTS) - services == {r.name for r in REGISTRY}


def test_examples_hold_exactly_one_spec_per_runbook():
    specs = {p.stem for p in EXAMPLES.glob("*.yaml")} - {"routing", "routing-okta", "routing-scim"}
    assert specs == {r.name for r in REGISTRY}


@pytest.mark.parametrize("runbook", REGISTRY, ids=lambda r: r.name)
def test_each_deployment_matches_its_record(runbook: Runbook):
    entry = DEPLOYMENTS[runbook.name]
    wanted = runbook.deployment
    assert entry["entrypoint"] == runbook.entrypoint
    assert (ROOT / runbook.entrypoint.split(":")[0]).is_file()
    assert entry["description"] == wanted.description
    assert tuple(entry["tags"]) == wanted.tags
    assert entry.get("parameters", {}) == wanted.parameters
    crons = [s["cron"] for s in entry.get("schedules", [])]
    assert crons == ([wanted.cron] if wanted.cron else [])
    limit = entry.get("concurrency_limit") or {}
    assert limit.get("limit") == wanted.concurrency_limit
    assert limit.get("collision_strategy") == wanted.collision_strategy


@pytest.mark.parametrize("runbook", REGISTRY, ids=lambda r: r.name)
def test_each_example_and_default_parameters_validate_against_the_spec(runbook: Runbook):
    assert isinstance(runbook.example(), runbook.spec)
    if "spec" in runbook.deployment.parameters:
        runbook.spec.model_validate(runbook.deployment.parameters["spec"])


@pytest.mark.parametrize("runbook", REGISTRY, ids=lambda r: r.name)
def test_the_flow_takes_the_registered_spec_and_the_planner_has_the_one_signature(runbook: Runbook):
    assert runbook.flow.fn.__annotations__["spec"] in (runbook.spec, runbook.spec.__name__)
    parameters = inspect.signature(runbook.planner).parameters
    assert tuple(parameters) == PLANNER_PARAMETERS, "one signature: planner(client, spec, context)"
    assert parameters["spec"].annotation in (runbook.spec, runbook.spec.__name__)
    assert runbook.destructive <= set(CHANGE_MODELS)


def test_unknown_runbook_names_the_choices():
    with pytest.raises(KeyError) as caught:
        get("offboard-everyone")
    assert "offboard-user" in str(caught.value)


def test_cli_offers_and_describes_every_runbook():
    assert [n.value for n in RunbookName] == [r.name for r in REGISTRY]
    result = CliRunner().invoke(app, ["run", "--help"])
    assert result.exit_code == 0
    words = " ".join(result.output.split())  # rich wraps help to the terminal's width
    for runbook in REGISTRY:
        assert f"{runbook.name}: {runbook.summary}" in words

    refused = CliRunner().invoke(app, ["run", "offboard-everyone", "examples/routing.yaml"])
    assert refused.exit_code == 2
    assert "offboard-everyone" in refused.output


def test_the_demo_runs_the_registry_in_order_and_says_what_it_leaves_out():
    from cli.demo import STEPS

    assert [s.runbook for s in STEPS] == [r.name for r in REGISTRY if r.in_demo]
    assert all((EXAMPLES / s.example).is_file() for s in STEPS)


@pytest.mark.parametrize("runbook", REGISTRY, ids=lambda r: r.name)
def test_the_run_form_does_not_offer_the_trigger(runbook: Runbook):
    # Only the webhook service may say what started a run (it signs it); a UI form field would
    # let anyone claim a Jira ticket on someone else's behalf.
    schema = parameter_schema(runbook.flow.fn).model_dump()
    assert "trigger" in inspect.signature(runbook.flow.fn).parameters
    assert "trigger" not in schema["properties"]
    assert "spec" in schema["properties"]
