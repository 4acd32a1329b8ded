"""The access review's inventory of the ``scale`` account (5,000 users, 20,000 bindings).

The emulator runs in its own process (the ``scale`` seed); the inventory is the runbook's own
``take_inventory`` and ``build_review`` through ``arize_admin``, page size 100, independent lists
concurrently. Measured twice: with no added latency, and with ``LATENCY_MS`` injected on every
request (the emulator's fault layer), to compare the wall time with two bounds:

- ``bound_s`` = calls * latency / concurrency: what perfect parallelism would cost;
- ``critical_path_s`` = the longest cursor chain * latency: pages of one list are sequential
  (each page's cursor comes from the one before), so no client can beat it.

Writes ``bench/results/access_review.json``; asserts nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from arize_admin import AsyncArizeAdmin
from bench.emulator_scale import ADMIN_KEY, _free_port, _start_emulator
from flows.access_review.inventory import PAGE, take_inventory
from flows.access_review.review import build_review
from flows.access_review.spec import AccessReviewSpec

RESULTS = Path(__file__).resolve().parent / "results" / "access_review.json"
LATENCY_MS = 20.0
CONCURRENCY = 8


async def _inventory(base_url: str) -> dict[str, Any]:
    async with AsyncArizeAdmin(
        api_key=ADMIN_KEY, base_url=base_url, max_concurrency=CONCURRENCY
    ) as client:
        started = time.perf_counter()
        inventory = await take_inventory(client)
        read_s = time.perf_counter() - started
        review = build_review("bench", inventory, AccessReviewSpec())
        total_s = time.perf_counter() - started
    chains = {
        "users": len(inventory.users),
        "bindings": max(
            sum(b.resource_type == kind for b in inventory.bindings)
            for kind in ("SPACE", "PROJECT")
        ),
    }
    longest = max(-(-n // PAGE) for n in chains.values()) + 1  # +1: the last, empty-cursor page
    return {
        "api_calls": inventory.api_calls,
        "read_s": round(read_s, 3),
        "total_s": round(total_s, 3),
        "longest_chain_pages": longest,
        "users": len(inventory.users),
        "bindings": len(inventory.bindings),
        "spaces": len(inventory.spaces),
        "service_keys": len(inventory.service_keys),
        "items": len(review.items),
        "findings": len(review.findings),
    }


def main() -> None:
    port = _free_port()
    proc = _start_emulator(port)
    base_url = f"http://127.0.0.1:{port}"
    try:
        plain = asyncio.run(_inventory(base_url))
        httpx.put(
            f"{base_url}/_emulator/faults", json={"latency_ms": LATENCY_MS}, trust_env=False
        ).raise_for_status()
        slow = asyncio.run(_inventory(base_url))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    latency = LATENCY_MS / 1000
    slow["bound_s"] = round(slow["api_calls"] * latency / CONCURRENCY, 3)
    slow["critical_path_s"] = round(slow["longest_chain_pages"] * latency, 3)
    figures = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "page_size": PAGE,
        "client_concurrency": CONCURRENCY,
        "no_added_latency": plain,
        f"latency_{int(LATENCY_MS)}ms": slow,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
