"""``arize-runbooks serve`` with two workers on one port (``ARIZE_RUNBOOKS_SERVE_WORKERS=2``) on a
PostgreSQL inbox: each worker stores what it answers, ``/metrics`` counts every worker's
deliveries whichever worker answers the scrape, a killed worker is replaced without its counts
being lost, and SIGTERM stops them all.

Which worker takes a connection is the kernel's choice. The test makes it for the kernel: one
worker is stopped (SIGSTOP) while the other takes a burst, then the other way round, so each
worker is known to have answered half of the deliveries. uvicorn's supervisor is stopped too
meanwhile: it pings its workers and kills one that has not answered in 5 s.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.webhooks.backends import ServiceProcess
from tests.webhooks.conftest import Sender, figure, samples, uid
from webhooks.inbox import Inbox

pytestmark = pytest.mark.timeout(300)

BURST = 20


def _workers(service: ServiceProcess) -> list[psutil.Process]:
    """uvicorn's worker processes under ``serve`` (spawned children; not the resource tracker)."""
    assert service.process is not None
    return [
        child
        for child in psutil.Process(service.process.pid).children()
        if "spawn_main" in " ".join(child.cmdline())
    ]


def _started(service: ServiceProcess, count: int, within: float = 120.0) -> None:
    """Wait until ``count`` workers have logged the end of their start-up."""
    deadline = time.monotonic() + within
    while service.log.read_text().count("Application startup complete") < count:
        assert time.monotonic() < deadline, service.log.read_text()[-3000:]
        time.sleep(0.2)


def _files(directory: Path) -> set[str] | None:
    """The names of the files in ``directory``; None when it does not exist."""
    return {p.name for p in directory.iterdir()} if directory.is_dir() else None


async def _burst(base_url: str, ids: list[str]) -> list[int]:
    """Deliver one generic event per id, each on a new connection; the answers' statuses."""

    async def one(msg_id: str) -> int:
        # A client per delivery: a kept-alive connection would stay with the worker that
        # accepted it, whichever is stopped now.
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            body = {"type": "runbook.offboard-user",
                    "data": {"spec": {"email": f"{msg_id}@acme.example", "reason": "workers"}}}
            return (await Sender(http).generic(body, msg_id=msg_id)).status_code

    return list(await asyncio.gather(*(one(m) for m in ids)))


async def _scrapes_count(base_url: str, deliveries: int) -> None:
    """Whichever worker answers a scrape, it counts every worker's deliveries, and the inbox's
    figures once, not once a worker."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        for _ in range(6):
            text = (await http.get("/metrics", headers={"Connection": "close"})).text
            scraped = samples(text)
            assert figure(scraped, "arize_webhook_deliveries_total",
                          source="generic", status="202") == deliveries, text
            assert figure(scraped, "arize_webhook_events_total",
                          source="generic", outcome="pending") == deliveries
            assert figure(scraped, "arize_webhook_inbox_depth") == deliveries
            assert figure(scraped, "arize_webhook_inbox_up") == 1
            assert text.count("# TYPE arize_webhook_inbox_depth gauge") == 1


async def test_two_workers_store_and_count_every_delivery_and_stop_on_sigterm(
    postgres_url: str, tmp_path: Path
) -> None:
    service = ServiceProcess(
        inbox_url=postgres_url, prefect_api_url="http://127.0.0.1:9/api",
        log=tmp_path / "serve.log", serve_workers=2, forwarder_enabled=False,
    )  # fmt: skip
    ids = [uid("msg_") for _ in range(2 * BURST + BURST // 2)]
    service.start()
    try:
        _started(service, 2)
        first, second = workers = _workers(service)
        assert len(workers) == 2
        # The directory `serve` made for the workers' counters (prometheus-client's).
        metrics_dir = Path(first.environ()["PROMETHEUS_MULTIPROC_DIR"])
        assert second.environ()["PROMETHEUS_MULTIPROC_DIR"] == str(metrics_dir)
        assert service.process is not None
        supervisor = psutil.Process(service.process.pid)
        answered: list[int] = []
        for stopped, half in ((second, ids[:BURST]), (first, ids[BURST:2 * BURST])):
            supervisor.send_signal(signal.SIGSTOP)
            stopped.send_signal(signal.SIGSTOP)
            try:
                answered += await _burst(service.base_url, half)
            finally:
                stopped.send_signal(signal.SIGCONT)
                supervisor.send_signal(signal.SIGCONT)
        assert answered == [202] * 2 * BURST

        # Each worker wrote its own counters.
        written = _files(metrics_dir)
        assert written is not None and {f"counter_{w.pid}.db" for w in workers} <= written

        await _scrapes_count(service.base_url, 2 * BURST)

        # A worker killed: the supervisor starts another, and the dead one's counts stay.
        first.kill()
        _started(service, 3)
        workers = _workers(service)
        assert len(workers) == 2 and first.pid not in {w.pid for w in workers}
        assert await _burst(service.base_url, ids[2 * BURST:]) == [202] * (len(ids) - 2 * BURST)
        await _scrapes_count(service.base_url, len(ids))
        # Every worker writes the access log `serve` ships (Prefect's import had silenced it).
        log = service.log.read_text()
        assert log.count('"POST /webhooks/generic HTTP/1.1" 202') == len(ids), log[-3000:]

        async with Inbox(postgres_url, migrate=False) as inbox:
            stored: list[Any] = [await inbox.find("generic", m) for m in ids]
            assert all(stored), [m for m, e in zip(ids, stored, strict=True) if e is None]
            assert (await inbox.stats()).pending == len(ids)

        service.process.terminate()
        assert service.process.wait(timeout=60) == 0, service.log.read_text()[-3000:]
        assert not [w.pid for w in workers if w.is_running() and w.status() != "zombie"]
        assert _files(metrics_dir) is None  # removed with the workers
    finally:
        service.stop()
