"""An apply cut off halfway resumes to convergence; faults (lost answers, 5xx) converge with no
duplicate: every step reads before it writes, as the engine's retries rely on."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.account.conftest import Account, edit

FRAUD = "spaces/Acme/fraud-detection.yaml"


def grow(exported: Path) -> None:
    """A change of every additive kind at once: a role, a space, people, bindings, a restriction."""
    edit(exported / "roles.yaml", lambda d: d["roles"].append(
        {"name": "Risk Analyst", "permissions": ["PROJECT_READ", "DATASET_READ"]}))
    edit(exported / "users.yaml", lambda d: d["users"].append(
        {"email": "rita@acme.example", "name": "Rita Risk"}))

    def fraud(d: dict) -> None:
        space = d["spaces"][0]
        space["members"].append({"email": "sam@acme.example", "role": "Risk Analyst"})
        space["members"].append({"email": "rita@acme.example", "role": "MEMBER"})
        model = space["projects"][0]
        model["restricted"] = True
        model["bindings"].append({"email": "rita@acme.example", "role": "Risk Analyst"})
        d["spaces"].append({"name": "risk", "organization": "Acme", "members": [
            {"email": "rita@acme.example", "role": "ADMIN"}]})

    edit(exported / FRAUD, fraud)


async def no_duplicates(account: Account) -> None:
    client = account.client
    roles = Counter(r.name for r in await client.roles.list().to_list())
    spaces = Counter(s.name for s in await client.spaces.list().to_list())
    users = Counter(u.email for u in await client.users.list().to_list())
    bindings: Counter[tuple[str, str]] = Counter()
    for kind in ("SPACE", "PROJECT"):
        listed = await client.role_bindings.list(resource_type=kind).to_list()
        bindings.update((b.user_id, b.resource_id) for b in listed)
    for counts in (roles, spaces, users, bindings):
        assert max(counts.values()) == 1, counts.most_common(3)


async def test_an_apply_cut_off_after_two_stages_resumes_to_convergence(
    account: Account, exported: Path
):
    grow(exported)
    plan = await account.plan(exported)
    assert len(plan.stages) >= 4

    await account.apply(plan, only_stages=2)  # cut off: the run died here
    resumed = await account.plan(exported)
    assert 0 < len(resumed.changes) < len(plan.changes), "the re-plan skips what was done"

    await account.apply(plan)  # the old plan's steps again, from the start: all idempotent
    await account.apply(resumed)
    assert (await account.plan(exported)).changes == []
    await no_duplicates(account)


async def test_lost_answers_and_server_errors_converge_with_no_duplicates(
    account: Account, exported: Path
):
    grow(exported)
    plan = await account.plan(exported)
    await account.control(
        "PUT", "/faults",
        json={"error_rate": 0.2, "seed": 22, "methods": ["POST", "PATCH", "PUT", "DELETE"]},
    )
    account.transport.lose_rate = 0.4
    await account.apply(plan, retries=10)
    account.transport.lose_rate = 0.0
    faults = await account.control("GET", "/faults")
    await account.control("DELETE", "/faults")

    assert (await account.plan(exported)).changes == []
    await no_duplicates(account)
    assert account.transport.lost > 0, "answers were lost after the change was made"
    assert faults["injected"] > 0, "server errors were injected too"
