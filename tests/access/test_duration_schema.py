"""The grant's deployment schema, as prefect.yaml deploys it and the Prefect server enforces it.

``duration`` is documented as "seconds or ISO 8601": the server must accept both when it
creates a run, and refuse what the flow would refuse (zero, negative, over the ceiling).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools.validation import ValidationError, validate

ROOT = Path(__file__).parents[2]
SPEC = {
    "email": "sam@acme.example",
    "role": "Project Viewer",
    "space": "fraud-detection",
    "project": "payments-risk",
    "reason": "investigate a payments incident",
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """The parameter schema `prefect deploy` computes for grant-temporary-access."""
    deployments = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    [entry] = [d for d in deployments if d["name"] == "grant-temporary-access"]
    flow = load_flow_from_entrypoint(str(ROOT / entry["entrypoint"]))
    return parameter_schema(flow).model_dump_for_openapi()


def _check(schema: dict[str, Any], duration: object) -> None:
    # The call the server makes when a run is created from the deployment.
    validate({"spec": {**SPEC, "duration": duration}}, schema, raise_on_error=True)


@pytest.mark.parametrize("duration", [3600, 14400, 90.5, "PT4H", "PT30M"])
def test_seconds_and_iso_8601_are_accepted(schema, duration):
    _check(schema, duration)


@pytest.mark.parametrize("duration", [0, -60, 31 * 86400, 1e12, True])
def test_out_of_bounds_is_refused_by_the_server(schema, duration):
    with pytest.raises(ValidationError):
        _check(schema, duration)
