"""The ``scale`` account: how long it takes to seed, and to inventory through ``arize_admin``.

Seeding is timed in-process (``seed_account`` into a fresh account, best and median of a few
runs). The inventory runs against the emulator in its own process (so client and server do
not share a GIL): every user, space, project, SPACE and PROJECT role binding and service key,
page after page at the maximum page size, sequentially, as an access review would read them.
Figures: seconds and HTTP requests per list and in total, items per list, and the seconds
of the slowest page (O(page) listing keeps late pages as fast as early ones). Writes
``bench/results/emulator_scale.json``; asserts nothing.
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
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from arize_admin import AsyncArizeAdmin, AsyncPaginator
from emulator.arize.seed import seed_account
from emulator.arize.state import AccountState

ADMIN_KEY = "ak-bench-scale-00000000000000000000000000000000"
SEED = "scale"
RESULTS = Path(__file__).resolve().parent / "results" / "emulator_scale.json"
SEED_RUNS = 3
PAGE = 100


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _time_seed() -> dict[str, Any]:
    runs: list[float] = []
    state = AccountState()
    for _ in range(SEED_RUNS):
        state = AccountState()
        started = time.perf_counter()
        seed_account(state, SEED, ADMIN_KEY)
        runs.append(time.perf_counter() - started)
    return {
        "seed": SEED,
        "runs": SEED_RUNS,
        "best_s": round(min(runs), 3),
        "median_s": round(statistics.median(runs), 3),
        "rows": {
            "users": len(state.users),
            "role_bindings": len(state.bindings),
            "space_memberships": len(state.space_members),
            "spaces": len(state.spaces),
            "projects": len(state.projects),
            "api_keys": len(state.api_keys),
        },
    }


def _start_emulator(port: int) -> subprocess.Popen[bytes]:
    # Not through the CLI: only the emulator, seeded, in its own interpreter.
    script = (
        "import uvicorn\n"
        "from emulator.arize import create_app\n"
        f"app = create_app(seed={SEED!r}, admin_key={ADMIN_KEY!r})\n"
        f"uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARIZE_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            url = f"http://127.0.0.1:{port}/_emulator/health"
            if httpx.get(url, trust_env=False).is_success:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("emulator did not start")


async def _drain(client: AsyncArizeAdmin, lister: Callable[[], AsyncPaginator[Any]]) -> dict:
    before = client.request_count
    items = 0
    page_times: list[float] = []
    started = time.perf_counter()
    pages: AsyncIterator[Any] = lister().pages()
    while True:
        page_started = time.perf_counter()
        try:
            page = await anext(pages)
        except StopAsyncIteration:
            break
        page_times.append(time.perf_counter() - page_started)
        items += len(page.items)
    return {
        "items": items,
        "requests": client.request_count - before,
        "seconds": round(time.perf_counter() - started, 3),
        "first_page_ms": round(page_times[0] * 1000, 2),
        "last_page_ms": round(page_times[-1] * 1000, 2),
        "slowest_page_ms": round(max(page_times) * 1000, 2),
    }


async def _inventory(base_url: str) -> dict[str, Any]:
    async with AsyncArizeAdmin(api_key=ADMIN_KEY, base_url=base_url) as client:
        await client.users.list(limit=1)  # open the connection
        listers: dict[str, Callable[[], AsyncPaginator[Any]]] = {
            "users": lambda: client.users.list(limit=PAGE),
            "spaces": lambda: client.spaces.list(limit=PAGE),
            "projects": lambda: client.projects.list(limit=PAGE),
            "role_bindings_space": lambda: client.role_bindings.list(
                resource_type="SPACE", limit=PAGE
            ),
            "role_bindings_project": lambda: client.role_bindings.list(
                resource_type="PROJECT", limit=PAGE
            ),
            "service_keys": lambda: client.api_keys.list(key_type="SERVICE", limit=PAGE),
        }
        lists = {name: await _drain(client, lister) for name, lister in listers.items()}
    return {
        "lists": lists,
        "total_requests": sum(v["requests"] for v in lists.values()),
        "total_items": sum(v["items"] for v in lists.values()),
        "total_seconds": round(sum(v["seconds"] for v in lists.values()), 3),
    }


def main() -> dict[str, Any]:
    """Run the benchmark and write its figures."""
    seeding = _time_seed()
    port = _free_port()
    proc = _start_emulator(port)
    try:
        inventory = asyncio.run(_inventory(f"http://127.0.0.1:{port}"))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    result = {
        "benchmark": "emulator_scale",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_avg_1m": os.getloadavg()[0],
        },
        "page_size": PAGE,
        "seeding": seeding,
        "inventory": inventory,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
