"""Memory of the webhook service under large deliveries, SQLite and PostgreSQL inbox side by
side in one run. Writes bench/results/inbox_memory.json; asserts nothing.

The service (forwarder off) gets ``--deliveries`` signed Standard Webhooks deliveries of
``--body-kb`` KB each (a random, incompressible ``notes`` field), ``--concurrency`` in flight,
one backend after the other. Its RSS is read after every ``--every`` deliveries: with a flat
memory the curve levels off after the first checkpoints; the SQLite inbox used to climb
(165 -> 540 MB over 7 rounds of 2,000) because sqlite3's statement cache kept the bound
payloads of one multi-row INSERT per batch size.

    .venv/bin/python -m bench.inbox_memory [--deliveries 50000] [--body-kb 100]
        [--concurrency 200] [--every 5000] [--output bench/results/inbox_memory.json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench._figures import machine, save
from bench.webhook_ack import GENERIC_SECRET, _loadavg, _pg_database, _server, _service_env
from webhooks.verify import sign_standard

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "inbox_memory.json"
_KEY = base64.b64decode(GENERIC_SECRET.removeprefix("whsec_"))


def _delivery(i: int, body_kb: int) -> tuple[bytes, dict[str, str]]:
    notes = os.urandom(body_kb * 512).hex()  # body_kb KB of text that does not compress
    body = json.dumps(
        {
            "type": "runbook.offboard-user",
            "data": {"spec": {"email": f"user{i}@acme.example", "reason": "bench"}},
            "notes": notes,
        }
    ).encode()
    msg_id, stamp = f"msg_{uuid.uuid4().hex}", str(int(time.time()))
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": sign_standard(_KEY, msg_id, stamp, body),
        "Content-Type": "application/json",
    }
    return body, headers


async def _drive(base_url: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    """Send the deliveries, reading the server's RSS at each checkpoint and its peak."""
    process = psutil.Process(pid)
    statuses: dict[str, int] = {}
    checkpoints: list[dict[str, Any]] = [
        {"deliveries": 0, "rss_mb": round(process.memory_info().rss / 2**20, 1)}
    ]
    peak = process.memory_info().rss
    sent = 0
    started = time.perf_counter()
    async with aiohttp.ClientSession(
        base_url=base_url,
        connector=aiohttp.TCPConnector(limit=args.concurrency),
        timeout=aiohttp.ClientTimeout(total=120),
    ) as http:

        async def one(i: int) -> None:
            body, headers = _delivery(i, args.body_kb)
            try:
                async with http.post("/webhooks/generic", data=body, headers=headers) as response:
                    await response.read()
                    key = str(response.status)
            except aiohttp.ClientError as exc:
                key = type(exc).__name__
            statuses[key] = statuses.get(key, 0) + 1

        async def worker(queue: asyncio.Queue[int]) -> None:
            while True:
                i = await queue.get()
                try:
                    await one(i)
                finally:
                    queue.task_done()

        while sent < args.deliveries:
            chunk = min(args.every, args.deliveries - sent)
            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(sent, sent + chunk):
                queue.put_nowait(i)
            workers = [asyncio.create_task(worker(queue)) for _ in range(args.concurrency)]

            async def sample() -> None:
                nonlocal peak
                while True:
                    peak = max(peak, process.memory_info().rss)
                    await asyncio.sleep(0.2)

            sampler = asyncio.create_task(sample())
            await queue.join()
            for task in [*workers, sampler]:
                task.cancel()
            await asyncio.gather(*workers, sampler, return_exceptions=True)
            sent += chunk
            rss = process.memory_info().rss
            peak = max(peak, rss)
            checkpoints.append({"deliveries": sent, "rss_mb": round(rss / 2**20, 1)})
            print(f"  {sent} deliveries: RSS {rss / 2**20:.1f} MB", flush=True)
    elapsed = time.perf_counter() - started
    return {
        "deliveries": sent,
        "body_kb": args.body_kb,
        "concurrency": args.concurrency,
        "statuses": dict(sorted(statuses.items())),
        "deliveries_per_s": round(sent / elapsed, 1),
        "rss_mb_start": checkpoints[0]["rss_mb"],
        "rss_mb_end": checkpoints[-1]["rss_mb"],
        "rss_mb_peak": round(peak / 2**20, 1),
        "rss_mb_by_deliveries": checkpoints,
    }


def _measure(inbox_url: str, args: argparse.Namespace) -> dict[str, Any]:
    down = "http://127.0.0.1:9/api"  # never called: the forwarder is off
    env = _service_env(inbox_url, down, forwarder=False)
    before = _loadavg()
    with _server("webhooks.app:app_from_env", env) as (url, pid):
        result = asyncio.run(_drive(url, pid, args))
    return result | {"load_average_before": before, "load_average_after": _loadavg()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=50_000)
    parser.add_argument("--body-kb", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--every", type=int, default=5_000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv if argv is not None else [])
    figures: dict[str, Any] = {"machine": machine(), "backends": {}}
    with tempfile.TemporaryDirectory() as tmp:
        print("== SQLite inbox", flush=True)
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'inbox.db'}"
        figures["backends"]["sqlite"] = _measure(url, args)
    with _pg_database() as url:
        print("== PostgreSQL inbox", flush=True)
        figures["backends"]["postgresql"] = _measure(url, args)
    figures["machine_after"] = machine()
    return save(args.output, figures)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
