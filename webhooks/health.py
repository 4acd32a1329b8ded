"""``/healthz`` (the process is alive) and ``/readyz`` (it can do its job: the inbox database
and the Prefect API answer). A load balancer sends deliveries only to ready replicas; an
orchestrator restarts only dead ones.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

logger = logging.getLogger("webhooks.health")

router = APIRouter(tags=["health"])

#: Longest a readiness check waits for one dependency.
CHECK_TIMEOUT = 3.0


class Liveness(BaseModel):
    """``/healthz`` answer."""

    status: Literal["ok"] = "ok"


class Check(BaseModel):
    """One dependency's state."""

    status: Literal["ok", "down"]
    error: str | None = None


class Readiness(BaseModel):
    """``/readyz`` answer: ``ready`` only when every check is ``ok``."""

    status: Literal["ready", "not ready"]
    detail: str
    checks: dict[str, Check]
    service_key_fingerprint: str | None = None
    """Public fingerprint of the service key (never the key): `doctor` compares it with the
    workers'."""


@router.get("/healthz", response_model=Liveness, summary="Liveness")
async def healthz() -> Liveness:
    """The process serves requests (nothing else is checked)."""
    return Liveness()


async def _check(name: str, probe: Any) -> Check:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await probe()
    except Exception as exc:
        # The exception type and message only: connection errors carry no credentials
        # (the URL's password never reaches them), and the log keeps the full story.
        logger.warning("readiness: %s is down: %s", name, type(exc).__name__)
        reason = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
        return Check(status="down", error=reason)
    return Check(status="ok")


async def _prefect_up(client: Any) -> None:
    failure = await client.api_healthcheck()
    if failure is not None:
        raise failure


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness",
    responses={503: {"model": Readiness, "description": "A dependency is down (named)."}},
)
async def readyz(request: Request, response: Response) -> Readiness:
    """200 when the inbox database and the Prefect API both answer; 503 naming what is down."""
    state = request.app.state
    inbox_check, prefect_check = await asyncio.gather(
        _check("inbox", state.inbox.ping),
        _check("prefect", lambda: _prefect_up(state.prefect_client)),
    )
    checks = {"inbox": inbox_check, "prefect": prefect_check}
    checks["configuration"] = _configuration(state)
    fingerprint = state.settings.service_key_fingerprint
    down = [name for name, check in checks.items() if check.status == "down"]
    if down:
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return Readiness(status="not ready", detail=f"down: {', '.join(down)}", checks=checks,
                         service_key_fingerprint=fingerprint)
    return Readiness(status="ready", detail="inbox and prefect reachable", checks=checks,
                     service_key_fingerprint=fingerprint)


def _configuration(state: Any) -> Check:
    """What is missing from the service's own settings (variable names, never values)."""
    problems = getattr(state, "config_problems", None) or []
    return Check(status="down", error="; ".join(problems)) if problems else Check(status="ok")
