"""Throughput of the Arize emulator for a simple authenticated ``GET /v2/users/{id}``.

The emulator runs as the CLI runs it (``arize-runbooks emulator``, its own process, so the
load generator does not share its GIL); N concurrent ``httpx.AsyncClient`` workers send a
fixed number of requests each. Figures: requests/s and p50/p95/p99 latency per concurrency
level, plus the emulator's own request count as a cross-check. Writes
``bench/results/emulator_throughput.json``; asserts nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ADMIN_KEY = "ak-bench-0000000000000000000000000000000000"
RESULTS = Path(__file__).resolve().parent / "results" / "emulator_throughput.json"
LEVELS = (1, 8, 32)
TOTAL_PER_LEVEL = 2000
TIME_BUDGET_S = 20.0  # per level: stop early on a slow machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_emulator(port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARIZE_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "emulator",
            "--port",
            str(port),
            "--admin-key",
            ADMIN_KEY,
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_emulator/health", trust_env=False).is_success:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("emulator did not start")


async def _level(base_url: str, user_path: str, concurrency: int) -> dict[str, Any]:
    per_worker = max(1, TOTAL_PER_LEVEL // concurrency)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + TIME_BUDGET_S

    async def worker() -> None:
        nonlocal errors
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, trust_env=False
        ) as client:
            await client.get(user_path)  # warm the connection
            for _ in range(per_worker):
                if time.perf_counter() > deadline:
                    return
                start = time.perf_counter()
                response = await client.get(user_path)
                latencies.append(time.perf_counter() - start)
                if response.status_code != 200:
                    errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2)

    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 3),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "latency_ms": {
            "p50": pct(0.50),
            "p95": pct(0.95),
            "p99": pct(0.99),
            "mean": round(statistics.fmean(ordered) * 1000, 2),
        },
    }


def main() -> dict[str, Any]:
    """Run the benchmark and write its figures."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    proc = _start_emulator(port)
    try:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        users = httpx.get(f"{base_url}/v2/users", headers=headers, trust_env=False).json()["users"]
        user_path = f"/v2/users/{users[1]['id']}"
        httpx.delete(f"{base_url}/_emulator/requests", trust_env=False)
        levels = [asyncio.run(_level(base_url, user_path, n)) for n in LEVELS]
        counted = httpx.get(f"{base_url}/_emulator/requests", trust_env=False).json()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    figures = {
        "benchmark": "emulator_throughput",
        "endpoint": "GET /v2/users/{user_id}",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_avg_1m": os.getloadavg()[0],
        },
        "server": "arize-runbooks emulator (uvicorn, one process, h11)",
        "levels": levels,
        "best_requests_per_s": max(level["requests_per_s"] for level in levels),
        "emulator_counted": counted["by_route"].get("GET /v2/users/{user_id}", 0),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    for level in levels:
        print(
            f"concurrency {level['concurrency']:>3}: {level['requests_per_s']:>8.1f} req/s  "
            f"p50 {level['latency_ms']['p50']} ms  p95 {level['latency_ms']['p95']} ms  "
            f"({level['requests']} requests, {level['errors']} errors)"
        )
    return figures


if __name__ == "__main__":
    main()
