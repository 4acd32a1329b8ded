"""``probe-environment``: what a worker's flow-run process holds, for ``doctor`` (never secrets).

The flow runs on the ``arize-runbooks`` pool like a runbook and reports, in its final state's
message (JSON): the service key's fingerprint, the variables it lacks, and the flow heartbeat
setting crash recovery relies on. :func:`probe_worker` runs it and reads the report back;
``doctor`` compares the fingerprint with the webhook service's.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from prefect import flow
from prefect.client.orchestration import PrefectClient
from prefect.states import Completed, State

DEPLOYMENT = "probe-environment/probe-environment"


def environment_report() -> dict[str, Any]:
    """This process's configuration as fingerprints, names and settings; no secret values."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY
    from pydantic import ValidationError

    from config.settings import RunbooksSettings, env_name

    report: dict[str, Any] = {
        "host": socket.gethostname(),
        "heartbeat_frequency": PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value(),
    }
    try:
        settings = RunbooksSettings()
    except ValidationError as ex:
        report["settings_error"] = "; ".join(
            f"{env_name(str(e['loc'][0]))}: {e['msg']}" if e["loc"] else e["msg"]
            for e in ex.errors()
        )
        report.update(service_key_fingerprint=None, missing=[])
        return report
    report["service_key_fingerprint"] = settings.service_key_fingerprint
    report["missing"] = [env_name("service_key")] if settings.service_key is None else []
    return report


@flow(name="probe-environment", log_prints=False)
def probe_environment() -> State:
    """Report this flow-run process's environment (fingerprints only) in the final state."""
    return Completed(message=json.dumps(environment_report()))


async def probe_worker(client: PrefectClient, *, wait: float = 60.0) -> dict[str, Any]:
    """Run the probe on the pool and return its report.

    Raises:
        TimeoutError: no worker finished it within ``wait`` seconds (the run is cancelled).
        RuntimeError: the probe run ended in another state than Completed.
    """
    from prefect.states import Cancelled

    deployment = await client.read_deployment_by_name(DEPLOYMENT)
    run = await client.create_flow_run_from_deployment(deployment.id)
    try:
        async with asyncio.timeout(wait):
            while True:
                run = await client.read_flow_run(run.id)
                if run.state is not None and run.state.is_final():
                    break
                await asyncio.sleep(0.5)
    except TimeoutError:
        await client.set_flow_run_state(run.id, Cancelled(message="doctor's probe timed out"),
                                        force=True)
        raise
    if not run.state.is_completed():
        raise RuntimeError(f"the probe run ended {run.state.type.value}: {run.state.message}")
    return json.loads(run.state.message or "{}")
