"""Benchmark: offboard-user of one person holding N grants, against the emulator at 20 ms.

For each size (default 50 and 500; ``--sizes 50,500`` to choose) the account is reset to the
demo seed and Lee Leaver is given N grants in total: 40% space memberships (SPACE bindings on
spaces of their own), 40% PROJECT bindings (one project in each of those spaces, custom role
"Project Viewer") and the rest personal API keys. The seeding runs without latency and is not
counted. Then the flow runs with 20 ms per request and 8 in flight; its gate is answered
in-process through ``cli.approvals.answer_gate`` (the ``arize-runbooks approve --break-glass``
code path; past 20 keys the plan is held for break-glass).

The API calls are counted by route and compared with ``minimal_calls``: every read of one
inventory in pages of 100 (service keys: one list per space, the documented filter), taken
twice (the plan, and the re-read after approval that checks for drift), one lookup to verify
the user is gone, and one call per change (a revoke per personal key, one delete of the user;
bindings go with the user). The bound is
``minimal_calls * latency / concurrency``; the wall time compared with it excludes the time
the gate waited for its answer. Writes bench/results/offboard_user.json. Asserts nothing.

    python -m bench.offboard_user --sizes 50,500
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench._emulator import EmulatorProcess, emulator_process
from bench._figures import machine, save

DEFAULT_SIZES = (50, 500)
LATENCY_MS = 20.0
CONCURRENCY = 8
PAGE = 100
LEAVER = "lee.leaver@acme.example"
APPROVER = "approver@acme.example"
# A plan revoking more keys than the policy's storm limit (20) is held for break-glass: at 500
# grants Lee has 100 keys, so the bench answers as the policy's break-glass person, which is
# what an operator does for such a leaver.
BREAK_GLASS = "oncall.lead@acme.example"
# What the demo seed already gives Lee: two space memberships, one project binding, one key.
SEEDED = {"space": 2, "project": 1, "key": 1}
RESULTS = Path(__file__).parent / "results" / "offboard_user.json"


@dataclass(frozen=True)
class Grants:
    """How many grants of each kind the leaver holds."""

    space: int
    project: int
    key: int

    @classmethod
    def mix(cls, total: int) -> Grants:
        """40% space memberships, 40% project bindings, the rest personal keys."""
        space = project = max(round(total * 0.4), SEEDED["space"])
        return cls(space=space, project=project, key=max(total - space - project, SEEDED["key"]))

    @property
    def total(self) -> int:
        return self.space + self.project + self.key


def inventory_calls(grants: Grants, spaces: int, projects: int) -> int:
    """Reads of one inventory in pages of 100 when nothing is looked up one by one.

    ``spaces``/``projects`` are the account's totals (the names of bound resources come from
    the bulk lists). User, organizations and roles are one page each. Service keys created by
    the leaver take one list per space: Arize documents the creator filter on a space-scoped
    list only. One more read is the runbook's own-key safety check.
    """
    pages = lambda n: max(1, math.ceil(n / PAGE))  # noqa: E731
    return (
        1  # user by email
        + pages(spaces)
        + 1  # organizations
        + 1  # roles
        + pages(grants.space)
        + pages(grants.project)
        + pages(projects)
        + pages(grants.key)
        + spaces  # service keys created by the leaver, per space
        + 1  # the runbook's own key is not the leaver's
    )


def minimal_calls(grants: Grants, spaces: int, projects: int) -> int:
    """Two inventories, one verify lookup, one revoke per key and one delete (module doc)."""
    return 2 * inventory_calls(grants, spaces, projects) + 1 + grants.key + 1


def bound_seconds(calls: int) -> float:
    """Wall time if every call waited out its latency with the concurrency cap always full."""
    return calls * LATENCY_MS / 1000 / CONCURRENCY


async def seed_leaver(emulator: EmulatorProcess, admin_key: str, grants: Grants) -> dict[str, int]:
    """Give Lee ``grants`` through the admin API (and the control plane for their keys)."""
    from arize_admin import AsyncArizeAdmin, RoleBindingResourceType

    limit = asyncio.Semaphore(CONCURRENCY)
    async with AsyncArizeAdmin(api_key=admin_key, base_url=emulator.base_url) as client:
        lee = await client.users.find_by_email(LEAVER)
        assert lee is not None
        acme = await client.organizations.find_by_name("Acme")
        assert acme is not None
        roles = {r.name: r.id async for r in client.roles.list()}
        member, viewer = roles["MEMBER"], roles["Project Viewer"]

        async def space_with_project(i: int) -> None:
            async with limit:
                space = await client.spaces.create(name=f"bench-s{i:04d}", organization_id=acme.id)
                if i < grants.space - SEEDED["space"]:
                    await client.role_bindings.create(
                        user_id=lee.id, role_id=member,
                        resource_type=RoleBindingResourceType.SPACE, resource_id=space.id,
                    )
                if i < grants.project - SEEDED["project"]:
                    project = await client.projects.create(
                        name=f"bench-p{i:04d}", space_id=space.id
                    )
                    await client.role_bindings.create(
                        user_id=lee.id, role_id=viewer,
                        resource_type=RoleBindingResourceType.PROJECT, resource_id=project.id,
                    )

        spaces_needed = max(grants.space - SEEDED["space"], grants.project - SEEDED["project"])
        await asyncio.gather(*(space_with_project(i) for i in range(spaces_needed)))
        async with httpx.AsyncClient(
            base_url=f"{emulator.base_url}/_emulator", timeout=30, trust_env=False
        ) as control:
            for i in range(grants.key - SEEDED["key"]):
                response = await control.post(
                    "/keys", json={"user_id": lee.id, "name": f"bench-key-{i:04d}"}
                )
                response.raise_for_status()
        return {
            "spaces": len([s async for s in client.spaces.list(limit=PAGE)]),
            "projects": len([p async for p in client.projects.list(limit=PAGE)]),
        }


async def save_policy(base_url: str, admin_key: str) -> None:
    """The emulator's admin key, 8 in flight, no rate limit, one approver who answers by CLI."""
    from blocks.arize import ArizeCredentials
    from blocks.key_store import ArizeKeyStore
    from blocks.policy import RunbookPolicy
    from core.approvals.rules import ApprovalPolicy

    await RunbookPolicy(
        credentials=ArizeCredentials(
            api_key=admin_key, base_url=base_url, max_concurrency=CONCURRENCY
        ),
        key_store=ArizeKeyStore(prefix="bench"),
        approval=ApprovalPolicy(
            timeout_seconds=120, approver_emails=[APPROVER], break_glass=[BREAK_GLASS]
        ),
        poll_interval_seconds=1,
        max_parallel=CONCURRENCY,
        rate_limit=None,
    ).asave("default", overwrite=True)


async def _approve_when_paused(since: datetime, marks: dict[str, float]) -> None:
    from cli.approvals import answer_gate, wait_for_gate

    run = await wait_for_gate("offboard-user", since, poll_seconds=0.05)
    marks["gate_seen"] = time.perf_counter()
    await answer_gate(
        run.id, approved=True, approver=BREAK_GLASS, break_glass=True, comment="bench leaver"
    )
    marks["answered"] = time.perf_counter()


async def run_offboarding(emulator: EmulatorProcess, total: int) -> dict[str, Any]:
    """Reset the account, give Lee ``total`` grants, offboard them once; return the figures."""
    from flows.offboard_user.flow import offboard_user
    from flows.offboard_user.spec import OffboardUserSpec

    grants = Grants.mix(total)
    admin_key = emulator.reset("demo")
    await save_policy(emulator.base_url, admin_key)
    account = await seed_leaver(emulator, admin_key, grants)
    async with httpx.AsyncClient(
        base_url=f"{emulator.base_url}/_emulator", timeout=30, trust_env=False
    ) as control:
        await control.put("/faults", json={"latency_ms": LATENCY_MS})
        await control.delete("/requests")
        spec = OffboardUserSpec(email=LEAVER, reason="bench", ticket="BENCH-1")
        marks: dict[str, float] = {}
        load_before = os.getloadavg()[0]
        since = datetime.now(UTC)
        started = time.perf_counter()
        run = asyncio.create_task(offboard_user(spec=spec))
        approver = asyncio.create_task(_approve_when_paused(since, marks))
        # A refused answer must stop the bench, not leave the run waiting out its gate.
        await asyncio.wait({run, approver}, return_when=asyncio.FIRST_EXCEPTION)
        if approver.done() and approver.exception() is not None:
            run.cancel()
            approver.result()
        outcome = await run
        wall = time.perf_counter() - started
        await approver
        journal = (await control.get("/requests")).json()
        await control.delete("/faults")
    calls = sum(journal["by_route"].values())
    minimal = minimal_calls(grants, account["spaces"], account["projects"])
    bound = bound_seconds(minimal)
    # The gate's wait for an answer is not the runbook's work: the time from the gate being
    # seen to the answer being recorded is left out (the flow's own resume poll is kept in).
    gate_wait = marks["answered"] - marks["gate_seen"]
    active = wall - gate_wait
    changes = grants.key + 1
    return {
        "grants": grants.total,
        "grants_by_kind": {
            "space_memberships": grants.space,
            "project_bindings": grants.project,
            "user_keys": grants.key,
        },
        "account": account,
        "load_avg_1m_before": round(load_before, 2),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "status": outcome.status.value,
        "changes_planned": outcome.planned,
        "changes_applied": outcome.applied,
        "wall_seconds": round(wall, 2),
        "to_gate_seconds": round(marks["gate_seen"] - started, 2),
        "after_answer_seconds": round(started + wall - marks["answered"], 2),
        "active_wall_seconds": round(active, 2),
        "api_calls": calls,
        "minimal_calls": minimal,
        "times_minimal_calls": round(calls / minimal, 2),
        "api_calls_by_route": dict(Counter(journal["by_route"]).most_common()),
        "bound_seconds": round(bound, 3),
        "times_bound": round(active / bound, 2),
        "ms_per_change": round(active / changes * 1000, 1),
        "ms_per_grant": round(active / grants.total * 1000, 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run each size on one emulator process and one Prefect test server; write the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.offboard_user")
    parser.add_argument(
        "--sizes", default=",".join(map(str, DEFAULT_SIZES)),
        help="comma-separated grant counts, e.g. 50,500",
    )
    args = parser.parse_args([] if argv is None else argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    from prefect.testing.utilities import prefect_test_harness

    before = machine()
    with emulator_process() as emulator, prefect_test_harness(server_startup_timeout=120):
        runs = [asyncio.run(run_offboarding(emulator, n)) for n in sizes]
    figures = {
        "latency_ms_per_request": LATENCY_MS,
        "concurrency_cap": CONCURRENCY,
        "minimal_calls_formula": (
            "2 * (bulk reads of one inventory, pages of 100) + 1 verify + user keys + 1 delete"
        ),
        "machine_before": before,
        "machine_after": machine(),
        "runs": runs,
    }
    return save(RESULTS, figures)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
