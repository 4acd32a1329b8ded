"""An Okta initial import through ``/scim/v2`` all the way to Arize: ``--users`` people in
``--groups`` pushed groups, with the service's forwarder on and the routed runbooks deployed on
a process worker against the Arize emulator (each in its own process). Then one person is
deactivated and the offboarding's gate answered at once. Writes
bench/results/scim_end_to_end.json; asserts nothing.

Figures:
- Arize calls made (the emulator's request journal) against the minimum: the mutations the
  IdP's state needs (per person an invitation, the organization, the default space and their
  group's space; one space per group and the default space), and every request with the reads.
- The time from the first SCIM request until Arize matches the IdP (every person invited with
  both space roles), read from the emulator's control plane (not counted as Arize calls).
- The time from the SCIM deactivate to the person's access gone in Arize, the approval given
  as soon as the run waits at its gate (through the CLI's code path), and how long it waited.

The routing is examples/routing-scim.yaml plus one route that makes each pushed group a space
(``arize-team-<n>``, MEMBER), so every membership is work for Arize. The worker runs at most
``--slots`` flow runs at once (a process pool's limit): each run is a process.

Each size runs twice, side by side on one Prefect server: ``shipped``, the policy naming the
rate limit ``setup`` creates (10 Arize requests per second), then ``unthrottled``. Both have
setup's crash-recovery automations and deploy as prefect.yaml does (tag, heartbeat), so a run
that crashes (a submission refused by the loaded server) is resumed and counted.

    .venv/bin/python -m bench.scim_end_to_end [--users 50] [--groups 5] [--slots 4]
    .venv/bin/python -m bench.scim_end_to_end --users 200 --groups 10    # about 40 minutes
    .venv/bin/python -m bench.scim_end_to_end --variants unthrottled --users 1000 --groups 20

Every run is a new process (about 6 CPU seconds on this machine). The example routing batches
joiners (``batch:`` on ``scim-joiner``: up to 100 a run, 5 s to fill), so an import of 1,000
people is ten onboard-team runs plus one per group push; before, each joiner was a run of its
own, and that, not Arize, set how long an import took to reach Arize.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import yaml

from bench._emulator import EmulatorProcess, emulator_process
from bench._figures import machine, save
from bench._worker import prefect_env, process_worker
from bench.webhook_ack import _server
from cli.setup import RATE_LIMIT, RATE_LIMIT_PER_SECOND, ensure_rate_limit
from ops.crash_recovery import RUNBOOK_TAG, ensure_crash_recovery

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "scim_end_to_end.json"
ROUTING = ROOT / "examples" / "routing-scim.yaml"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
POOL = "bench-scim"
RUNBOOKS = ("onboard-team", "offboard-user", "update-user-profile", "restore-user")
APPROVER = "approver@acme.example"
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
#: Members Okta adds per PATCH when it pushes a large group.
CHUNK = 100
SERVICE_KEY_ENV = "ARIZE_RUNBOOKS_SERVICE_KEY"


def _email(n: int) -> str:
    return f"person{n}@acme.example"


def _routing(path: Path, groups: int) -> Path:
    """The example SCIM routing plus "each pushed group is a space, its members MEMBERs"."""
    config = yaml.safe_load(ROUTING.read_text())
    config["routes"].append({
        "name": "bench-group-space",
        "source": "scim",
        "event_type": "group.changed",
        "conditions": [
            {"field": "payload.displayName", "in": [f"arize-team-{g}" for g in range(groups)]},
            {"field": "payload.added", "exists": True},
            {"field": "payload.reactivated", "exists": False},
        ],
        "deployment": "onboard-team/onboard-team",
        "parameters": {"spec": {
            "organization": "Acme",
            "space": "{{ payload.displayName }}",
            "members": {"$each": "{{ payload.added }}", "$as": {
                "name": "{{ item.userName }}", "email": "{{ item.email }}", "space_role": "MEMBER",
            }},
        }},
    })  # fmt: skip
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


async def _import(base_url: str, token: str, users: int, groups: int) -> dict[int, str]:
    """Okta's import: a lookup and a create per person, then each group pushed by PATCH."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    semaphore = asyncio.Semaphore(20)
    async with aiohttp.ClientSession(base_url=base_url, headers=headers) as http:

        async def call(method: str, path: str, **kw: Any) -> Any:
            async with semaphore, http.request(method, path, **kw) as response:
                body = await response.json(content_type=None) if response.status != 204 else {}
                if response.status >= 300:
                    raise RuntimeError(f"{method} {path}: {response.status} {body}")
                return body

        async def person(n: int) -> str:
            name = _email(n)
            await call("GET", "/scim/v2/Users", params={"filter": f'userName eq "{name}"'})
            body = await call("POST", "/scim/v2/Users", json={
                "schemas": [USER], "userName": name, "active": True,
                "name": {"givenName": "Person", "familyName": str(n)}, "displayName": f"P {n}",
                "emails": [{"primary": True, "value": name, "type": "work"}],
            })  # fmt: skip
            return str(body["id"])

        ids = await asyncio.gather(*(person(n) for n in range(users)))

        async def push(g: int) -> None:
            group = await call("POST", "/scim/v2/Groups", json={
                "schemas": [GROUP], "displayName": f"arize-team-{g}", "members": [],
            })  # fmt: skip
            members = ids[g::groups]
            for i in range(0, len(members), CHUNK):
                await call("PATCH", f"/scim/v2/Groups/{group['id']}", json={
                    "schemas": [PATCH],
                    "Operations": [{"op": "add", "path": "members",
                                    "value": [{"value": m} for m in members[i : i + CHUNK]]}],
                })  # fmt: skip

        await asyncio.gather(*(push(g) for g in range(groups)))
    return dict(enumerate(ids))


def _state(emulator: EmulatorProcess) -> dict[str, Any]:
    return httpx.get(f"{emulator.base_url}/_emulator/state", timeout=60, trust_env=False).json()


def _requests(emulator: EmulatorProcess) -> dict[str, Any]:
    return httpx.get(f"{emulator.base_url}/_emulator/requests", timeout=30, trust_env=False).json()


def _spaces_by_email(state: dict[str, Any]) -> dict[str, set[str]]:
    users = {u["id"]: u["email"] for u in state["users"].values() if u["status"] != "DELETED"}
    spaces = {s["id"]: s["name"] for s in state["spaces"].values()}
    held: dict[str, set[str]] = {email: set() for email in users.values()}
    for b in state["bindings"].values():
        if b["resource_type"] == "SPACE" and b["user_id"] in users:
            held[users[b["user_id"]]].add(spaces.get(b["resource_id"], "?"))
    return held


def _matches(state: dict[str, Any], users: int, groups: int) -> bool:
    held = _spaces_by_email(state)
    return all(
        held.get(_email(n)) == {"general", f"arize-team-{n % groups}"} for n in range(users)
    )


async def _until(check: Any, within: float, every: float = 1.0) -> float:
    """Seconds until ``check()`` is true (polled every ``every`` s), from now."""
    started = time.perf_counter()
    while not await asyncio.to_thread(check):
        if time.perf_counter() - started > within:
            raise TimeoutError(f"not reached within {within:.0f} s")
        await asyncio.sleep(every)
    return time.perf_counter() - started


async def _deploy(slots: int) -> None:
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectAlreadyExists

    from flows.registry import BY_NAME

    pull = [{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}]
    async with get_client() as client:
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        await client.update_work_pool(POOL, WorkPoolUpdate(concurrency_limit=slots))
        for name in RUNBOOKS:
            runbook = BY_NAME[name]
            await client.create_deployment(
                flow_id=await client.create_flow_from_name(runbook.flow.name),
                name=runbook.flow.name,
                entrypoint=runbook.entrypoint,
                path=str(ROOT),
                work_pool_name=POOL,
                pull_steps=pull,
                # As prefect.yaml deploys every runbook: the tag the crash-recovery
                # automations look for, and the heartbeat they count on.
                tags=[RUNBOOK_TAG],
                job_variables={"env": {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30"}},
            )


async def _policy(emulator: EmulatorProcess, rate_limit: str | None) -> None:
    from blocks.arize import ArizeCredentials
    from blocks.key_store import ArizeKeyStore
    from blocks.policy import RunbookPolicy
    from core.approvals.rules import ApprovalPolicy

    await RunbookPolicy(
        credentials=ArizeCredentials(api_key=emulator.admin_key, base_url=emulator.base_url),
        key_store=ArizeKeyStore(prefix=f"bench-scim-{uuid.uuid4().hex[:6]}"),
        approval=ApprovalPolicy(timeout_seconds=600, approver_emails=[APPROVER]),
        poll_interval_seconds=1,
        rate_limit=rate_limit,
    ).asave("default", overwrite=True)


def _worker(log: Path) -> contextlib.AbstractContextManager[None]:
    env = prefect_env(PREFECT_WORKER_QUERY_SECONDS="1", PYTHONPATH=str(ROOT))
    return process_worker(POOL, log, env)


def _calls(emulator: EmulatorProcess) -> dict[str, int]:
    journal = _requests(emulator)
    by_route = journal["by_route"]
    mutations = sum(n for r, n in by_route.items() if r.split(" ", 1)[0] in MUTATING)
    return {"total": int(journal["total"]), "mutations": mutations}


async def _run(args: argparse.Namespace, tmp: Path, rate_limit: str | None) -> dict[str, Any]:
    from prefect.settings import PREFECT_API_URL

    from cli.approvals import answer_gate, wait_for_gate
    from webhooks.inbox import Inbox
    from webhooks.scim import tokens

    url = f"sqlite+aiosqlite:///{tmp / 'inbox.db'}"
    inbox = Inbox(url, migrate=True)
    await inbox.open()
    try:
        token = await tokens.create(inbox.engine, "bench")
    finally:
        await inbox.close()
    env = os.environ | {
        "ARIZE_RUNBOOKS_ENVIRONMENT": "test",
        "ARIZE_RUNBOOKS_INBOX_URL": url,
        "ARIZE_RUNBOOKS_ROUTING_CONFIG": str(_routing(tmp / "routing.yaml", args.groups)),
        "ARIZE_RUNBOOKS_PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "ARIZE_RUNBOOKS_FORWARDER_ENABLED": "true",
        "ARIZE_RUNBOOKS_FORWARDER_POLL_SECONDS": "0.5",
        "ARIZE_RUNBOOKS_SLACK_EXPIRY_SWEEP_SECONDS": "0",
    }
    with emulator_process("demo") as emulator:
        await _policy(emulator, rate_limit)
        await _deploy(args.slots)
        with _worker(tmp / "worker.log"), _server("webhooks.app:app_from_env", env) as (base, _):
            await asyncio.to_thread(
                httpx.delete, f"{emulator.base_url}/_emulator/requests", trust_env=False
            )
            started = time.perf_counter()
            ids = await _import(base, token, args.users, args.groups)
            answered = time.perf_counter() - started
            matched = answered + await _until(
                lambda: _matches(_state(emulator), args.users, args.groups), args.within, 2.0
            )
            # Runs still finishing their verification after the last change: let them end.
            await _until(lambda: _idle(), args.within, 2.0)
            calls = _calls(emulator)

            leaver = _email(0)
            since = datetime.now(UTC)
            deactivated = time.perf_counter()
            async with httpx.AsyncClient(
                base_url=base, headers={"Authorization": f"Bearer {token}"}
            ) as http:
                off = await http.patch(f"/scim/v2/Users/{ids[0]}", json={
                    "schemas": [PATCH],
                    "Operations": [{"op": "replace", "value": {"active": False}}],
                })  # fmt: skip
                off.raise_for_status()
            paused = await asyncio.wait_for(wait_for_gate("offboard-user", since, 0.1), args.within)
            at_gate = time.perf_counter() - deactivated
            await answer_gate(paused.id, approved=True, approver=APPROVER)
            gone = at_gate + await _until(
                lambda: not _spaces_by_email(_state(emulator)).get(leaver), args.within, 0.2
            )
    minimum = 4 * args.users + args.groups + 1
    return {
        "arize_calls": {
            "mutations": calls["mutations"],
            "mutations_minimum": minimum,
            "mutations_over_minimum_percent": round(100 * (calls["mutations"] / minimum - 1), 2),
            "requests_with_reads": calls["total"],
            "requests_per_person": round(calls["total"] / args.users, 1),
        },
        "seconds_to_answer_all_scim_requests": round(answered, 2),
        "seconds_until_arize_matches_idp": round(matched, 2),
        "deactivate": {
            "seconds_to_gate": round(at_gate, 2),
            "seconds_to_access_gone": round(gone, 2),
            "approval": "answered as soon as the run paused (CLI code path)",
        },
    }


async def _resumed() -> int:
    """Flow runs that ran more than once: put back to Scheduled by crash recovery."""
    from prefect import get_client

    resumed, offset = 0, 0
    async with get_client() as client:
        while page := await client.read_flow_runs(limit=200, offset=offset):
            resumed += sum(run.run_count > 1 for run in page)
            offset += len(page)
    return resumed


def _idle() -> bool:
    """No flow run scheduled, pending or running."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState
    from prefect.client.schemas.filters import FlowRunFilterStateType as StateTypes
    from prefect.client.schemas.objects import StateType

    live = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING]
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=StateTypes(any_=live))),
            limit=1,
        )
    return not runs


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--groups", type=int, default=5)
    parser.add_argument("--slots", type=int, default=4, help="flow runs at once on the worker")
    parser.add_argument("--within", type=float, default=3600, help="give up after (s)")
    parser.add_argument(
        "--variants", default="shipped,unthrottled",
        help="shipped (setup's rate limit on the policy) and/or unthrottled, in this order",
    )
    args, _ = parser.parse_known_args(argv if argv is not None else sys.argv[1:])
    # Votes and triggers are signed with the service key: a bench-only one when none is set.
    os.environ.setdefault(SERVICE_KEY_ENV, "bench-service-key-0123456789abcdef")
    from prefect.testing.utilities import prefect_test_harness

    load = machine()
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, prefect_test_harness(server_startup_timeout=180):
        # The shipped configuration first (setup's rate limit on the policy), then the same
        # import unthrottled: one Prefect server, a fresh emulator, inbox and worker for each.
        asyncio.run(ensure_rate_limit(RATE_LIMIT, RATE_LIMIT_PER_SECOND))
        # setup's crash recovery: a run that crashes (here: a worker's submission refused by
        # the loaded SQLite server with a 503) is put back to Scheduled under its id.
        asyncio.run(ensure_crash_recovery())
        for variant in args.variants.split(","):
            rate_limit = {"shipped": RATE_LIMIT, "unthrottled": None}[variant]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            resumed_before = asyncio.run(_resumed())
            (Path(tmp) / variant).mkdir()
            figures = asyncio.run(_run(args, Path(tmp) / variant, rate_limit))
            figures["runs_resumed_after_a_crash"] = asyncio.run(_resumed()) - resumed_before
            # The worker and its flow-run processes, the service and the emulator of this
            # variant have ended and been waited for: their CPU time is in RUSAGE_CHILDREN.
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            runs[variant] = {
                "rate_limit": f"{RATE_LIMIT}: {RATE_LIMIT_PER_SECOND}/s (setup's)"
                if rate_limit else None,
                "cpu_seconds_of_processes_ended": round(
                    after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1
                ),
                "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
                **figures,
            }
            _save(load, args, runs)
    ours = resource.getrusage(resource.RUSAGE_SELF)
    return _save(load, args, runs, round(ours.ru_utime + ours.ru_stime, 1))


def _save(
    load: dict[str, Any], args: argparse.Namespace, runs: dict[str, Any],
    own_cpu: float | None = None,
) -> dict[str, Any]:
    """Write what is measured so far (after each variant: a later one may not finish)."""
    return save(RESULTS, {
        "machine": load,
        "bench_process_cpu_seconds": own_cpu,
        "users": args.users,
        "groups": args.groups,
        "worker_slots": args.slots,
        "runs": runs,
        "note": "wall times on a shared 2-core machine with the Prefect server, the service, "
        "the emulator, the worker and its flow-run processes all on it",
    })  # fmt: skip


if __name__ == "__main__":
    main()
