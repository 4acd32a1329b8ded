"""prefect.yaml deploys every runbook, and each deployment's UI form validates the examples.

The server enforces a deployment's parameter schema when a run is created: the examples must
pass, and broken specs must be refused there, before any worker picks them up.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from prefect import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists, PrefectHTTPStatusError

from flows.registry import RUNBOOKS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[1]

BROKEN: dict[str, tuple[dict, ...]] = {
    "onboard-team": ({"organization": "Acme", "space": "x", "members": [{"name": "A"}]},),
    "saml-role-mapping": (
        {"mappings": [{"group": "g", "role": {"name": "r", "permissions": []}}]},
    ),
    "restrict-project": ({"space": "s", "project": "p", "allowed": [{"email": 12}]},),
    # The server checks JSON-schema constraints only (not "format": "email"): a missing field.
    "offboard-user": ({"email": "lee.leaver@acme.example"},),
    "rotate-service-keys": ({"grace_period_seconds": "soon"},),
    "access-review": ({"decision_seconds": "soon"},),
    "grant-temporary-access": ({"email": "sam@acme.example", "role": "Project Viewer"},),
}


@pytest.fixture(scope="module")
def deployed(prefect_harness) -> str:
    """Run `prefect deploy --all` from the repository against the test harness."""
    import asyncio

    async def make_pool() -> None:
        async with get_client() as client:
            with contextlib.suppress(ObjectAlreadyExists):
                await client.create_work_pool(
                    WorkPoolCreate(name="arize-runbooks", type="process")
                )

    asyncio.run(make_pool())
    result = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        cwd=ROOT,
        env={**os.environ, "PREFECT_API_URL": prefect_harness, "ARIZE_RUNBOOKS_HOME": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return prefect_harness


@pytest.mark.parametrize("runbook", list(RUNBOOKS))
async def test_each_deployment_accepts_its_example_and_refuses_a_broken_spec(deployed, runbook):
    example = yaml.safe_load((ROOT / "examples" / f"{runbook}.yaml").read_text())
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(f"{runbook}/{runbook}")
        assert "spec" in deployment.parameter_openapi_schema["properties"]

        run = await client.create_flow_run_from_deployment(
            deployment.id, parameters={"spec": example, "dry_run": True}
        )
        assert run.parameters["spec"] == example
        await client.delete_flow_run(run.id)

        # Every spec forbids unknown fields, so the example plus one is refused for any runbook,
        # a new one included; the hand-picked broken specs add each runbook's own constraints.
        for broken in ({**example, "not_a_field": True}, *BROKEN.get(runbook, ())):
            with pytest.raises(PrefectHTTPStatusError) as refused:
                await client.create_flow_run_from_deployment(
                    deployment.id, parameters={"spec": broken}
                )
            assert refused.value.response.status_code == 409
            assert "Validation failed" in refused.value.response.text


async def test_key_rotation_is_scheduled_weekly_and_never_overlaps(deployed):
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(
            "rotate-service-keys/rotate-service-keys"
        )
    crons = [s.schedule.cron for s in deployment.schedules]
    assert crons == ["0 6 * * 1"]
    assert deployment.global_concurrency_limit.limit == 1
