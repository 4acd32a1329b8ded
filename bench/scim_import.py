"""An Okta initial import through ``/scim/v2``: ``--users`` people in ``--groups`` pushed
groups, ``--concurrency`` requests in flight, as Okta's SCIM guide describes the import (a
``userName eq`` lookup, then a create, per person; then each group created and its members
added by PATCH). Writes bench/results/scim_import.json; asserts nothing.

Figures: the SCIM request p50/p95/p99 by operation; the events the runbooks get against the
minimum (one invitation per person, one grant per membership: a duplicate would be a wasted
Arize call); the time from the first request until every change is in the inbox (the point
from which the forwarder starts the runs). The service is its own process, forwarder off, on
SQLite or PostgreSQL (``--backend``); the PostgreSQL figures go to
bench/results/scim_import_postgresql.json, so both backends' stay side by side.

Each run imports twice, each time into a new inbox: into ``arize-runbooks serve`` as shipped
(uvicorn's access log on, a line per request, written to a file as a deployment's journal
would take it), then into the same app under ``uvicorn --no-access-log --log-level warning``,
the faster variant, so the cost of the log is measured beside the configuration people run.

    .venv/bin/python -m bench.scim_import [--users 1000] [--groups 20] [--concurrency 50]
        [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench._figures import machine, save
from bench.webhook_ack import (
    SERVE_WORKERS,
    SERVICE_KEY,
    SERVICES,
    _loadavg,
    _percentile,
    _service,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "scim_import.json"
RESULTS_POSTGRESQL = ROOT / "bench" / "results" / "scim_import_postgresql.json"
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#: Members Okta adds per PATCH when it pushes a large group.
CHUNK = 100


def _cpu_seconds(process: psutil.Process) -> float:
    """The server's CPU: the process and, under ``serve --workers N``, its workers."""
    return float(sum(sum(p.cpu_times()[:2]) for p in [process, *process.children()]))


async def _import(
    base_url: str, pid: int, token: str, users: int, groups: int, concurrency: int
) -> Any:
    server = psutil.Process(pid)
    cpu: dict[str, float] = {}
    latencies: dict[str, list[float]] = {}
    statuses: dict[str, int] = {}
    semaphore = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    async with aiohttp.ClientSession(
        base_url=base_url,
        headers=headers,
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=120),
    ) as http:

        async def call(op: str, method: str, path: str, **kw: Any) -> Any:
            async with semaphore:
                started = time.perf_counter()
                async with http.request(method, path, **kw) as response:
                    body = await response.read()
                    latencies.setdefault(op, []).append(time.perf_counter() - started)
                    key = f"{op} {response.status}"
                    statuses[key] = statuses.get(key, 0) + 1
                    return response.status, body

        async def person(n: int) -> str:
            name = f"person{n}@acme.example"
            await call("lookup", "GET", "/scim/v2/Users", params={
                "filter": f'userName eq "{name}"', "startIndex": "1", "count": "100"
            })  # fmt: skip
            _, body = await call("create", "POST", "/scim/v2/Users", json={
                "schemas": [USER], "userName": name, "active": True,
                "name": {"givenName": "Person", "familyName": str(n)},
                "emails": [{"primary": True, "value": name, "type": "work"}],
            })  # fmt: skip
            return str(json.loads(body)["id"])

        # The start-up heap is frozen in the server; freeze the load generator's too, so that
        # its full collections do not stall every request in flight (see bench.webhook_ack).
        gc.collect()
        gc.freeze()
        started = time.perf_counter()
        cpu_started = _cpu_seconds(server)
        client_started = time.process_time()
        machine_started = psutil.cpu_times()
        ids = await asyncio.gather(*(person(n) for n in range(users)))
        cpu["people"] = _cpu_seconds(server) - cpu_started
        members = {g: ids[g::groups] for g in range(groups)}

        async def push(g: int) -> None:
            _, body = await call("create_group", "POST", "/scim/v2/Groups", json={
                "schemas": [GROUP], "displayName": f"arize-team-{g}", "members": [],
            })  # fmt: skip
            group_id = json.loads(body)["id"]
            chunks = [members[g][i : i + CHUNK] for i in range(0, len(members[g]), CHUNK)]
            await asyncio.gather(*(
                call("patch_group", "PATCH", f"/scim/v2/Groups/{group_id}", json={
                    "schemas": [PATCH],
                    "Operations": [{"op": "add", "path": "members",
                                    "value": [{"value": i} for i in chunk]}],
                })
                for chunk in chunks
            ))  # fmt: skip

        await asyncio.gather(*(push(g) for g in range(groups)))
        answered = time.perf_counter() - started
        cpu["groups"] = _cpu_seconds(server) - cpu_started - cpu["people"]
        cpu["client"] = time.process_time() - client_started
        machine_now = psutil.cpu_times()
        cpu["machine_busy"] = sum(
            now - then
            for name, now, then in zip(
                machine_now._fields, machine_now, machine_started, strict=True
            )
            if name not in ("idle", "iowait")
        )
        gc.unfreeze()
    return latencies, statuses, answered, started, cpu


async def _token_and_inbox(url: str) -> tuple[str, Any]:
    from webhooks.inbox import Inbox
    from webhooks.scim import tokens

    inbox = Inbox(url, migrate=True)
    await inbox.open()
    return await tokens.create(inbox.engine, f"bench-{uuid.uuid4().hex[:6]}"), inbox


async def _run(args: argparse.Namespace, url: str, kind: str, log: Path) -> dict[str, Any]:
    token, inbox = await _token_and_inbox(url)
    env = os.environ | {
        "ARIZE_RUNBOOKS_ENVIRONMENT": "test",
        "ARIZE_RUNBOOKS_INBOX_URL": url,
        "ARIZE_RUNBOOKS_ROUTING_CONFIG": str(ROOT / "examples" / "routing-scim.yaml"),
        "ARIZE_RUNBOOKS_PREFECT_API_URL": "http://127.0.0.1:9/api",
        "ARIZE_RUNBOOKS_FORWARDER_ENABLED": "false",
        "ARIZE_RUNBOOKS_SLACK_EXPIRY_SWEEP_SECONDS": "0",
        "ARIZE_RUNBOOKS_SERVICE_KEY": SERVICE_KEY,
    }
    try:
        load_before = _loadavg()
        with _service(kind, env, log) as (base_url, pid):
            latencies, statuses, answered, started, cpu = await _import(
                base_url, pid, token, args.users, args.groups, args.concurrency
            )
            load_after = _loadavg()
            events = await inbox.list(source="scim", limit=10 * (args.users + args.groups))
            in_inbox = time.perf_counter() - started
    finally:
        await inbox.close()
    joins = sum(
        len(e.payload.get("added") or []) for e in events if e.event_type == "group.changed"
    )
    invitations = sum(e.event_type == "user.created" for e in events)
    counts = {op: len(values) for op, values in latencies.items()}
    people = counts.get("lookup", 0) + counts.get("create", 0)
    pushes = counts.get("create_group", 0) + counts.get("patch_group", 0)
    lines = len(log.read_bytes().splitlines()) if log.exists() else 0  # noqa: ASYNC240 - after the import
    return {
        "server": kind,
        "server_log_lines": lines,
        "requests": {
            op: {
                "count": len(values),
                "p50_ms": round(1000 * _percentile(values, 50), 1),
                "p95_ms": round(1000 * _percentile(values, 95), 1),
                "p99_ms": round(1000 * _percentile(values, 99), 1),
            }
            for op, values in sorted(latencies.items())
        },
        "all_requests_p95_ms": round(
            1000 * _percentile([v for vs in latencies.values() for v in vs], 95), 1
        ),
        "server_cpu_ms_per_request": round(
            1000 * (cpu["people"] + cpu["groups"]) / max(1, people + pushes), 3
        ),
        "server_cpu_ms_per_request_by_phase": {
            "people (lookup + create)": round(1000 * cpu["people"] / max(1, people), 3),
            "groups (create_group + patch_group)": round(1000 * cpu["groups"] / max(1, pushes), 3),
        },
        # The load generator (and PostgreSQL, on that backend) share the machine's cores with
        # the service: the machine's busy share during the import shows whether the cores,
        # or the service's one event loop, set the latency.
        "client_cpu_ms_per_request": round(1000 * cpu["client"] / max(1, people + pushes), 3),
        "machine_cpu_busy_percent": round(
            100 * cpu["machine_busy"] / (answered * (psutil.cpu_count() or 1)), 1
        ),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "statuses": statuses,
        "runbook_work": {
            "invitations": invitations,
            "invitations_minimum": args.users,
            "grants": joins,
            "grants_minimum": args.users,
            "over_minimum_percent": round(100 * ((invitations + joins) / (2 * args.users) - 1), 2),
        },
        "seconds_to_answer_all": round(answered, 2),
        "seconds_until_all_in_inbox": round(in_inbox, 2),
        "not_measured": (
            "Arize calls and the time until Arize matches the IdP need the forwarder, workers "
            "and the Arize emulator; the inbox events above are what those runs are made of"
        ),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args(argv if argv is not None else [])
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Several workers need PostgreSQL (`serve` refuses them on SQLite).
        kinds = SERVICES + ((SERVE_WORKERS,) if args.backend == "postgresql" else ())
        for kind in kinds:
            log = Path(tmp) / f"{kind}.log"
            if args.backend == "sqlite":
                url = f"sqlite+aiosqlite:///{Path(tmp) / f'inbox-{kind}.db'}"
                figures[kind] = asyncio.run(_run(args, url, kind, log))
            else:
                figures[kind] = asyncio.run(_pg(args, kind, log))
            print(f"{kind}: p95 {figures[kind]['all_requests_p95_ms']} ms, "
                  f"{figures[kind]['server_cpu_ms_per_request']} ms of server CPU a request")
    return save(
        RESULTS if args.backend == "sqlite" else RESULTS_POSTGRESQL,
        {
            "machine": machine(),
            "users": args.users,
            "groups": args.groups,
            "concurrency": args.concurrency,
            "backend": args.backend,
            "servers": figures,
        },
    )


async def _pg(args: argparse.Namespace, kind: str, log: Path) -> dict[str, Any]:
    import asyncpg

    name = f"bench_scim_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{PG}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        host = PG.removeprefix("postgresql://")
        return await _run(args, f"postgresql+asyncpg://{host}/{name}", kind, log)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    main(sys.argv[1:])
