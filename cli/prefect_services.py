"""``arize-runbooks prefect-services``: Prefect's background services, each started again when
it dies.

It stands in for ``prefect server services start``, which leaves a service whose start failed
dead, without a log line, for the life of the process (``ops.prefect_services``). Prefect's
settings come from the environment, as for Prefect's command. SIGTERM or SIGINT stops every
service the way Prefect stops them.
"""

from __future__ import annotations

import asyncio


def prefect_services() -> None:
    """Run Prefect's background services, starting each again when it dies."""
    from ops.prefect_services import run_prefect_services

    asyncio.run(run_prefect_services())
