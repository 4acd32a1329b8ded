"""Acknowledgement latency of the webhook service: 500 signed deliveries, 50 at a time, over
loopback, plus the service's resident memory. Writes bench/results/webhook_ack.json; asserts
nothing.

The service runs as ``arize-runbooks serve`` in a subprocess (so its RSS is its own) with the
shipped routing config and a fresh SQLite inbox. The forwarder is off: this measures the path
a sender waits for (cap, verify, parse, route, durable insert, 2xx), not Prefect.

    .venv/bin/python -m bench.webhook_ack [--deliveries 500] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
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
from pathlib import Path
from typing import Any

import httpx
import psutil

from webhooks.verify import sign_standard

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "webhook_ack.json"
OKTA_SECRET = "bench-okta-shared-secret-71c2"
GENERIC_SECRET = "whsec_" + base64.b64encode(b"bench-standard-webhooks-key-32b!").decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _okta(i: int) -> tuple[str, bytes, dict[str, str]]:
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


def _generic(i: int) -> tuple[str, bytes, dict[str, str]]:
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
    base_url: str, deliveries: int, concurrency: int, pid: int
) -> tuple[list[float], dict[int, int], float, int]:
    requests = [(_okta if i % 2 else _generic)(i) for i in range(deliveries)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    semaphore = asyncio.Semaphore(concurrency)
    process = psutil.Process(pid)
    peak_rss = process.memory_info().rss
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:

        async def one(path: str, body: bytes, headers: dict[str, str]) -> None:
            async with semaphore:
                started = time.perf_counter()
                response = await http.post(
                    path, content=body, headers=headers | {"Content-Type": "application/json"}
                )
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        async def sample() -> None:
            nonlocal peak_rss
            while True:
                peak_rss = max(peak_rss, process.memory_info().rss)
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample())
        started = time.perf_counter()
        await asyncio.gather(*(one(*r) for r in requests))
        elapsed = time.perf_counter() - started
        sampler.cancel()
    return latencies, statuses, elapsed, peak_rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--inbox-dir", default=None, help="Directory for the SQLite inbox (default: a temp dir)."
    )
    args = parser.parse_args()

    port = _free_port()
    with tempfile.TemporaryDirectory(dir=args.inbox_dir) as tmp:
        env = os.environ | {
            "ARIZE_RUNBOOKS_ENVIRONMENT": "test",
            "ARIZE_RUNBOOKS_OKTA_SECRET": OKTA_SECRET,
            "ARIZE_RUNBOOKS_GENERIC_SECRET": GENERIC_SECRET,
            "ARIZE_RUNBOOKS_FORWARDER_ENABLED": "false",
        }
        command = [
            sys.executable, "-m", "cli.main", "serve",
            "--port", str(port),
            "--config", str(ROOT / "examples" / "routing.yaml"),
            "--inbox-url", f"sqlite+aiosqlite:///{Path(tmp) / 'inbox.db'}",
            "--prefect-api-url", "http://127.0.0.1:9/api",  # never called: forwarder off
            "--log-level", "warning",
        ]  # fmt: skip
        service = subprocess.Popen(command, cwd=ROOT, env=env)
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if service.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the webhook service did not start")
                time.sleep(0.1)
            rss_idle = psutil.Process(service.pid).memory_info().rss
            latencies, statuses, elapsed, rss_peak = asyncio.run(
                _load(base_url, args.deliveries, args.concurrency, service.pid)
            )
            rss_after = psutil.Process(service.pid).memory_info().rss
        finally:
            service.terminate()
            try:
                service.wait(timeout=10)
            except subprocess.TimeoutExpired:
                service.kill()

    ms = [x * 1000 for x in latencies]
    result: dict[str, Any] = {
        "deliveries": args.deliveries,
        "concurrency": args.concurrency,
        "sources": {
            "okta": args.deliveries // 2,
            "generic": args.deliveries - args.deliveries // 2,
        },
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "ack_latency_ms": {
            "p50": round(_percentile(ms, 50), 2),
            "p95": round(_percentile(ms, 95), 2),
            "p99": round(_percentile(ms, 99), 2),
            "max": round(max(ms), 2),
            "mean": round(statistics.fmean(ms), 2),
        },
        "throughput_per_s": round(args.deliveries / elapsed, 1),
        "service_rss_mb": {
            "idle": round(rss_idle / 2**20, 1),
            "peak": round(rss_peak / 2**20, 1),
            "after": round(rss_after / 2**20, 1),
        },
        "inbox": f"sqlite (aiosqlite), WAL, synchronous=NORMAL, in {args.inbox_dir or 'tmp'}",
        "forwarder": "off (ack path only)",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    runs = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    runs["tmpfs" if args.inbox_dir == "/dev/shm" else "disk"] = result
    RESULTS.write_text(json.dumps(runs, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
