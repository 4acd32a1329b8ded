"""Acknowledgement latency and forwarding of the webhook service, on SQLite and PostgreSQL.
Writes bench/results/webhook_ack.json; asserts nothing.

1. Ack path (forwarder off): signed deliveries, ``--concurrency`` in flight, to a bare
   endpoint (same uvicorn + FastAPI stack, no verify, no inbox: the floor this machine and
   client allow), to the service on a SQLite inbox and to the service on a PostgreSQL inbox,
   one after the other in the same run. Each server is its own subprocess. The service
   freezes its start-up heap out of the garbage collector (~200,000 objects: Prefect,
   SQLAlchemy, pydantic); before it did, every full collection walked them all (~125-150 ms
   here) every few hundred deliveries, stalling every request in flight.
2. Replicas (forwarder on, PostgreSQL inbox, Prefect's test harness): deliveries per second
   and forward lag (arrival to flow-run creation, from the inbox rows) with one and with two
   service replicas sharing the inbox.

    .venv/bin/python -m bench.webhook_ack [--deliveries 2000] [--concurrency 50] [--rounds 3]
        [--forward-events 400] [--skip-replicas]

Each server of phase 1 is measured ``--rounds`` times, interleaved; the figures kept are
those of the round with the median p95, with every round's p95 beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import aiohttp
import httpx
import psutil
from fastapi import FastAPI, Request, Response

from webhooks.verify import sign_standard

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "webhook_ack.json"
OKTA_SECRET = "bench-okta-shared-secret-71c2"
GENERIC_SECRET = "whsec_" + base64.b64encode(b"bench-standard-webhooks-key-32b!").decode()
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")

Delivery = tuple[str, bytes, dict[str, str]]


def bare_app() -> FastAPI:
    """The floor: the same server stack answering 202 after reading the body, nothing else."""
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhooks/{source}")
    async def receive(source: str, request: Request) -> Response:
        await request.body()
        return Response(b'{"status":"accepted"}', status_code=202, media_type="application/json")

    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _okta(i: int) -> Delivery:
    event = {
        "uuid": str(uuid.uuid4()),
        "eventType": "user.lifecycle.deactivate",
        "displayMessage": "Deactivate Okta user",
        "outcome": {"result": "SUCCESS"},
        "actor": {"alternateId": "admin@acme.example", "type": "User"},
        "target": [{"type": "User", "alternateId": f"user{i}@acme.example", "displayName": "U"}],
    }
    body = json.dumps({"eventId": str(uuid.uuid4()), "data": {"events": [event]}}).encode()
    return "/webhooks/okta", body, {"Authorization": OKTA_SECRET}


def _generic(i: int) -> Delivery:
    body = json.dumps(
        {
            "type": "runbook.offboard-user",
            "data": {"spec": {"email": f"user{i}@acme.example", "reason": "bench"}},
        }
    ).encode()
    msg_id, stamp = f"msg_{uuid.uuid4().hex}", str(int(time.time()))
    key = base64.b64decode(GENERIC_SECRET.removeprefix("whsec_"))
    return (
        "/webhooks/generic",
        body,
        {
            "webhook-id": msg_id,
            "webhook-timestamp": stamp,
            "webhook-signature": sign_standard(key, msg_id, stamp, body),
        },
    )


async def _load(
    base_urls: list[str],
    deliveries: list[Delivery],
    concurrency: int,
    pids: list[int],
    warmup: list[Delivery] | None = None,
) -> dict[str, Any]:
    """Send ``deliveries`` round-robin over ``base_urls``, ``concurrency`` at a time, after
    ``warmup`` (unmeasured, same clients: the connections are open when measuring starts,
    as with a sender that keeps them alive)."""
    latencies: list[float] = []
    statuses: dict[int | str, int] = {}
    semaphore = asyncio.Semaphore(concurrency)
    processes = [psutil.Process(pid) for pid in pids]
    peak_rss = sum(p.memory_info().rss for p in processes)
    # aiohttp, not httpx, as the load generator: httpx's pool costs grow with the number of
    # connections and at 50 in flight the client, not the server, set the latency.
    connector_limit = max(1, concurrency // len(base_urls) + 1)
    clients = [
        aiohttp.ClientSession(
            base_url=u,
            connector=aiohttp.TCPConnector(limit=connector_limit),
            timeout=aiohttp.ClientTimeout(total=60),
        )
        for u in base_urls
    ]
    try:

        async def one(n: int, path: str, body: bytes, headers: dict[str, str]) -> None:
            async with semaphore:
                started = time.perf_counter()
                try:
                    async with clients[n % len(clients)].post(
                        path, data=body, headers=headers | {"Content-Type": "application/json"}
                    ) as response:
                        await response.read()
                        key: int | str = response.status
                except aiohttp.ClientError as exc:
                    key = type(exc).__name__  # counted, not fatal: a sender retries
                latencies.append(time.perf_counter() - started)
                statuses[key] = statuses.get(key, 0) + 1

        if warmup:
            await asyncio.gather(*(one(n, *d) for n, d in enumerate(warmup)))
            latencies.clear()
            statuses.clear()
        # The load generator's own full collections would stall every request in flight
        # and be counted as the server's latency.
        gc.collect()
        gc.freeze()

        async def sample() -> None:
            nonlocal peak_rss
            while True:
                peak_rss = max(peak_rss, sum(p.memory_info().rss for p in processes))
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample())
        cpu_before = sum(sum(p.cpu_times()[:2]) for p in processes)
        started = time.perf_counter()
        await asyncio.gather(*(one(n, *d) for n, d in enumerate(deliveries)))
        elapsed = time.perf_counter() - started
        cpu = sum(sum(p.cpu_times()[:2]) for p in processes) - cpu_before
        sampler.cancel()
    finally:
        gc.unfreeze()
        for client in clients:
            await client.close()
    ms = [x * 1000 for x in latencies]
    return {
        "deliveries": len(deliveries),
        "statuses": {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))},
        "ack_latency_ms": {
            "p50": round(_percentile(ms, 50), 2),
            "p95": round(_percentile(ms, 95), 2),
            "p99": round(_percentile(ms, 99), 2),
            "max": round(max(ms), 2),
            "mean": round(statistics.fmean(ms), 2),
        },
        "deliveries_per_s": round(len(deliveries) / elapsed, 1),
        # User + system time of the server process(es), all threads, over the measured part.
        "server_cpu_ms_per_delivery": round(1000 * cpu / len(deliveries), 3),
        "rss_peak_mb": round(peak_rss / 2**20, 1),
    }


#: `serve` refuses to start without the key that signs triggers: the caller's, or one made up.
SERVICE_KEY = os.environ.get("ARIZE_RUNBOOKS_SERVICE_KEY", f"bench-{uuid.uuid4().hex}")


def _service_env(inbox_url: str, prefect_api_url: str, forwarder: bool) -> dict[str, str]:
    return os.environ | {
        "ARIZE_RUNBOOKS_ENVIRONMENT": "test",
        "ARIZE_RUNBOOKS_OKTA_SECRET": OKTA_SECRET,
        "ARIZE_RUNBOOKS_GENERIC_SECRET": GENERIC_SECRET,
        # routing.yaml routes these sources too, and `serve` refuses a routed source without
        # its secret; the bench sends none of their deliveries.
        "ARIZE_RUNBOOKS_BAMBOOHR_SECRET": "bench-bamboohr-secret-0123456789",
        "ARIZE_RUNBOOKS_JIRA_SECRET": "bench-jira-secret-0123456789",
        "ARIZE_RUNBOOKS_SERVICENOW_TOKEN": "bench-servicenow-token-0123456789",
        "ARIZE_RUNBOOKS_ROUTING_CONFIG": str(ROOT / "examples" / "routing.yaml"),
        "ARIZE_RUNBOOKS_INBOX_URL": inbox_url,
        "ARIZE_RUNBOOKS_PREFECT_API_URL": prefect_api_url,
        "ARIZE_RUNBOOKS_FORWARDER_ENABLED": str(forwarder).lower(),
        "ARIZE_RUNBOOKS_FORWARDER_POLL_SECONDS": "0.5",
        "ARIZE_RUNBOOKS_SLACK_EXPIRY_SWEEP_SECONDS": "0",
        "ARIZE_RUNBOOKS_SERVICE_KEY": SERVICE_KEY,
    }


@contextlib.contextmanager
def _serve(env: dict[str, str], log: Path, workers: int = 1) -> Iterator[tuple[str, int]]:
    """``arize-runbooks serve`` as shipped: uvicorn's access log on, a line per request,
    written to ``log`` as a deployment's journal would take it; ``workers`` processes."""
    port = _free_port()
    command = [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port",
               str(port), "--workers", str(workers)]  # fmt: skip
    with log.open("w") as sink, _process(command, env, port, sink) as running:
        # /healthz answers once the first worker is up; the figures start once all are, so
        # none of a worker's start-up is counted as serving.
        deadline = time.monotonic() + 90
        while log.read_text().count("Application startup complete") < workers:
            if time.monotonic() > deadline:
                raise SystemExit(f"{workers} workers did not start")
            time.sleep(0.1)
        yield running


@contextlib.contextmanager
def _server(factory: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """``uvicorn --factory`` in a subprocess (uvloop and httptools when installed)."""
    port = _free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
        "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    with _process(command, env, port) as running:
        yield running


@contextlib.contextmanager
def _process(
    command: list[str], env: dict[str, str] | None, port: int, stdout: IO[str] | None = None
) -> Iterator[tuple[str, int]]:
    """``command``, a server on ``port``, until its ``/healthz`` answers; its URL and pid."""
    process = subprocess.Popen(
        command, cwd=ROOT, env=env or dict(os.environ), stdout=stdout,
        stderr=None if stdout is None else subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{' '.join(command[1:])} did not start")
            time.sleep(0.1)
        yield base_url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def _pg_database() -> Iterator[str]:
    name = f"bench_inbox_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _deliveries(n: int, make: Callable[[int], Delivery] | None = None) -> list[Delivery]:
    return [(make or (_okta if i % 2 else _generic))(i) for i in range(n)]


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _ack(base_url: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    before = _loadavg()
    result = asyncio.run(
        _load(
            [base_url],
            _deliveries(args.deliveries),
            args.concurrency,
            [pid],
            warmup=_deliveries(args.concurrency * 2),
        )
    )
    return result | {"load_average_before": before, "load_average_after": _loadavg()}


#: The service as measured: ``serve`` as shipped, then the same app under uvicorn without an
#: access log (the faster variant, and the only one measured before 2026-12-06).
SERVICES = ("serve_as_shipped", "no_access_log")

#: ``serve --workers 2`` (PostgreSQL inbox only): one port, two processes.
SERVE_WORKERS = "serve_2_workers"


def _service(kind: str, env: dict[str, str], log: Path) -> contextlib.AbstractContextManager[
    tuple[str, int]
]:
    """The service as ``kind`` (one of SERVICES, or SERVE_WORKERS) runs it; ``serve`` writes
    its log to ``log``."""
    if kind == "serve_as_shipped":
        return _serve(env, log)
    if kind == SERVE_WORKERS:
        return _serve(env, log, workers=2)
    return _server("webhooks.app:app_from_env", env)


def ack_latency(args: argparse.Namespace) -> dict[str, Any]:
    """Phase 1: bare endpoint, then each of SERVICES on a SQLite inbox and on a PostgreSQL
    inbox, each on an inbox of its own."""
    down = "http://127.0.0.1:9/api"  # never called: the forwarder is off
    bare = "bench.webhook_ack:bare_app"
    results: dict[str, Any] = {}
    with _server(bare) as (url, pid):
        results["bare_endpoint"] = _ack(url, pid, args)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in SERVICES:
            inbox = f"sqlite+aiosqlite:///{Path(tmp) / f'inbox-{kind}.db'}"
            log = Path(tmp) / f"sqlite-{kind}.log"
            with _service(kind, _service_env(inbox, down, False), log) as (url, pid):
                results[f"sqlite_inbox_{kind}"] = _ack(url, pid, args)
        for kind in SERVICES:
            log = Path(tmp) / f"postgresql-{kind}.log"
            with (
                _pg_database() as inbox,
                _service(kind, _service_env(inbox, down, False), log) as (url, pid),
            ):
                results[f"postgresql_inbox_{kind}"] = _ack(url, pid, args)
    return results


def _median_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per server, the round with the median p95 (the machine is shared: one round can
    land on someone else's burst), with every round's p95 and rate beside it."""
    results: dict[str, Any] = {}
    for name in rounds[0]:
        ordered = sorted((r[name] for r in rounds), key=lambda r: r["ack_latency_ms"]["p95"])
        results[name] = ordered[len(ordered) // 2] | {
            "p95_of_rounds": [r[name]["ack_latency_ms"]["p95"] for r in rounds],
            "deliveries_per_s_of_rounds": [r[name]["deliveries_per_s"] for r in rounds],
        }
    bare_p95 = results["bare_endpoint"]["ack_latency_ms"]["p95"]
    for name in set(results) - {"bare_endpoint"}:
        p95 = results[name]["ack_latency_ms"]["p95"]
        results[name]["p95_vs_bare"] = round(p95 / bare_p95, 2) if bare_p95 else None
    return results


async def _lag(inbox_url: str, expected: int, within: float) -> dict[str, Any]:
    from webhooks.inbox import Inbox
    from webhooks.inbox_records import EventStatus

    async with Inbox(inbox_url, migrate=False) as inbox:
        deadline = time.monotonic() + within
        while (stats := await inbox.stats()).forwarded + stats.dead < expected:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        events = await inbox.list(status=EventStatus.FORWARDED, limit=expected + 10)
    lags = [(e.updated_at - e.received_at).total_seconds() for e in events]
    first = min(e.received_at for e in events)
    last = max(e.updated_at for e in events)
    return {
        "forwarded": len(events),
        "dead": stats.dead,
        "forward_lag_s": {
            "p50": round(_percentile(lags, 50), 3),
            "p95": round(_percentile(lags, 95), 3),
            "max": round(max(lags), 3),
        },
        "forwarded_per_s": round(len(events) / max((last - first).total_seconds(), 1e-6), 1),
    }


def replicas(args: argparse.Namespace) -> dict[str, Any]:
    """Phase 2: one and two replicas on a PostgreSQL inbox, forwarding to Prefect."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    from flows.registry import REGISTRY

    results: dict[str, Any] = {}
    with prefect_test_harness(server_startup_timeout=180):
        api = PREFECT_API_URL.value()
        offboard = next(r for r in REGISTRY if r.name == "offboard-user")

        async def deploy() -> None:
            deployment = await offboard.flow.ato_deployment(name=offboard.name)
            await deployment.aapply()

        asyncio.run(deploy())
        for count in (1, 2):
            with (
                _pg_database() as inbox_url,
                contextlib.ExitStack() as stack,
                tempfile.TemporaryDirectory() as tmp,
            ):
                env = _service_env(inbox_url, api, True)
                servers = [
                    stack.enter_context(_serve(env, Path(tmp) / f"replica-{n}.log"))
                    for n in range(count)
                ]
                deliveries = _deliveries(args.forward_events, _generic)
                load = asyncio.run(
                    _load(
                        [u for u, _ in servers],
                        deliveries,
                        args.concurrency,
                        [p for _, p in servers],
                    )
                )
                forwarded = asyncio.run(_lag(inbox_url, args.forward_events, within=600))
                results[f"{count}_replica" + ("s" if count > 1 else "")] = load | forwarded
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 2,000: at ~2,000/s a run of 500 lasts a quarter of a second, too short for a stable p95.
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--forward-events", type=int, default=400)
    parser.add_argument("--skip-replicas", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="of each server, interleaved")
    # Under ``python -m bench`` the module names are in argv too: ignore what is not ours.
    args, _ = parser.parse_known_args()

    load = _loadavg()
    shipped = [ack_latency(args) for _ in range(args.rounds)]
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "ack": _median_rounds(shipped),
    }
    result |= {
        "server": (
            "uvicorn (uvloop, httptools) + FastAPI, one process per server; the service as "
            "`arize-runbooks serve` runs it (access log on) and without an access log; the "
            "replicas as `serve` runs them"
        ),
        "inbox": "group commit; SQLite WAL synchronous=NORMAL in tmp; PostgreSQL 15 local",
        "client": "aiohttp, start-up heap frozen before measuring",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_at_start": load,
            "note": "client and servers share the machine's CPUs",
        },
    }
    result["machine"]["load_average_after_ack"] = _loadavg()
    if not args.skip_replicas:
        result["replicas_postgresql"] = replicas(args) | {
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()]
        }
    elif RESULTS.exists():
        # Keep the last replica figures (they carry their own load average).
        previous = json.loads(RESULTS.read_text()).get("replicas_postgresql")
        if previous is not None:
            result["replicas_postgresql"] = previous | {"kept_from_an_earlier_run": True}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
