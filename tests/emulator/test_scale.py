"""The ``scale`` seed and O(page) listing: a big account inventoried through arize_admin."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from arize_admin import AsyncArizeAdmin
from emulator.arize import ArizeEmulatorServer
from emulator.arize.errors import BadRequest
from emulator.arize.pagination import ListSpec, paginate, paginate_table
from emulator.arize.scale import ScaleSpec, parse_scale_seed
from emulator.arize.seed import check_seed, seed_account
from emulator.arize.state import AccountState
from emulator.arize.tables import Table

SMALL = (
    "scale:users=600,bindings=2400,spaces=40,projects=80,orgs=3,service_keys=60,"
    "key_creators=25,user_keys=100,invited=80,deleted=10,restricted_projects=5"
)


@pytest.fixture(scope="module")
def scale_emulator() -> Iterator[ArizeEmulatorServer]:
    server = ArizeEmulatorServer(seed=SMALL)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_seed_names_the_bad_parameter() -> None:
    with pytest.raises(ValueError, match=r"colour=blue.*bindings"):
        parse_scale_seed("scale:colour=blue")
    with pytest.raises(ValueError, match="users: 'many' is not a number"):
        parse_scale_seed("scale:users=many")
    with pytest.raises(ValueError, match="raise users"):
        ScaleSpec(
            users=10, bindings=5000, spaces=2, projects=2, invited=0, deleted=0, key_creators=1
        )
    with pytest.raises(ValueError, match="unknown seed 'huge'"):
        check_seed("huge")
    assert check_seed("scale:users=50") == "scale:users=50"
    tenth = parse_scale_seed("scale:users=500")
    assert (tenth.bindings, tenth.invited, tenth.service_keys) == (2000, 40, 40)


def test_seed_is_deterministic_and_keeps_the_invariants() -> None:
    def build() -> AccountState:
        state = AccountState()
        seed_account(state, SMALL, "ak-admin-" + "0" * 30)
        return state

    first, second = build(), build()
    assert [(u.id, u.email, u.status) for u in first.users.values()] == [
        (u.id, u.email, u.status) for u in second.users.values()
    ]
    assert [(b.id, b.user_id, b.resource_id, b.role_id) for b in first.bindings.values()] == [
        (b.id, b.user_id, b.resource_id, b.role_id) for b in second.bindings.values()
    ]
    spec = parse_scale_seed(SMALL)
    people = [b for b in first.bindings.values() if not first.users[b.user_id].is_bot]
    assert len(people) == spec.bindings
    pairs = [(b.user_id, b.resource_id) for b in first.bindings.values()]
    assert len(pairs) == len(set(pairs))
    # A SPACE binding is a space membership, and the deleted hold nothing.
    memberships = {(m.user_id, m.space_id) for m in first.space_members.values()}
    assert {
        (b.user_id, b.resource_id) for b in first.bindings.values() if b.resource_type == "SPACE"
    } == memberships
    deleted = {u.id for u in first.users.values() if u.status == "DELETED"}
    assert len(deleted) == spec.deleted
    assert not deleted & {b.user_id for b in first.bindings.values()}
    assert all(
        b.role_id in first.roles and not first.roles[b.role_id].deleted
        for b in first.bindings.values()
    )
    creators = {k.created_by_user_id for k in first.api_keys.values() if k.key_type == "SERVICE"}
    assert len(creators) == spec.key_creators


@dataclass
class Row:
    created_at: datetime
    n: int
    kind: str


def _key(row: Row) -> tuple[float, int]:
    return (row.created_at.timestamp(), row.n)


def test_paginate_table_gives_the_pages_paginate_gives() -> None:
    rng = random.Random(3)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    table: Table[Row] = Table()
    for n in range(1, 400):
        # Shuffled creation times: table order is not sort order.
        table[str(n)] = Row(base + timedelta(seconds=rng.randint(0, 50)), n, rng.choice("ab"))
    spec = ListSpec("rows")

    def wanted(row: Row) -> bool:
        return row.kind == "a"

    for size in (1, 7, 100):
        cursor_old = cursor_new = None
        added = False
        seen: list[int] = []
        while True:
            old = paginate(
                spec,
                [r for r in table.values() if wanted(r)],
                sort_key=_key,
                limit=size,
                cursor=cursor_old,
                filters={"k": "a"},
            )
            new = paginate_table(
                spec,
                table,
                sort_key=_key,
                predicate=wanted,
                limit=size,
                cursor=cursor_new,
                filters={"k": "a"},
            )
            assert [r.n for r in new.items] == [r.n for r in old.items]
            assert new.next_cursor == old.next_cursor
            seen.extend(r.n for r in new.items)
            if new.next_cursor is None:
                break
            cursor_old = cursor_new = new.next_cursor
            if not added:
                # A write between pages is seen by the next page (the cached order is dropped).
                added = True
                late = Row(base + timedelta(seconds=60), 1000 + size, "a")
                table[f"late-{size}"] = late
        assert late.n in seen
    with pytest.raises(BadRequest, match="other filters"):
        first = paginate_table(
            spec, table, sort_key=_key, predicate=wanted, limit=1, cursor=None, filters={"k": "a"}
        )
        paginate_table(
            spec,
            table,
            sort_key=_key,
            predicate=wanted,
            limit=1,
            cursor=first.next_cursor,
            filters={"k": "b"},
        )


async def test_full_inventory_of_the_scale_account(scale_emulator: ArizeEmulatorServer) -> None:
    state = scale_emulator.emulator.state
    async with AsyncArizeAdmin(
        api_key=scale_emulator.admin_key, base_url=scale_emulator.base_url
    ) as client:
        users = [u async for u in client.users.list(limit=100)]
        spaces = [s async for s in client.spaces.list(limit=100)]
        projects = [p async for p in client.projects.list(limit=100)]
        by_type = {
            kind: [b async for b in client.role_bindings.list(resource_type=kind, limit=100)]
            for kind in ("SPACE", "PROJECT")
        }
        service_keys = [k async for k in client.api_keys.list(key_type="SERVICE", limit=100)]
        requests = client.request_count

    humans = [u for u in state.users.values() if not u.is_bot and u.status != "DELETED"]
    assert sorted(u.id for u in users) == sorted(u.id for u in humans)
    assert len({u.id for u in users}) == len(users)
    statuses = {str(u.status) for u in users}
    assert {"ACTIVE", "INVITED", "EXPIRED"} <= {s.split(".")[-1] for s in statuses}
    assert len(spaces) == len(state.spaces)
    assert len(projects) == len(state.projects)
    for kind, listed in by_type.items():
        stored = [b for b in state.bindings.values() if b.resource_type == kind]
        assert sorted(b.id for b in listed) == sorted(b.id for b in stored)
    assert len(service_keys) == sum(
        1 for k in state.api_keys.values() if k.key_type == "SERVICE" and k.status == "ACTIVE"
    )
    pages = sum(
        -(-n // 100)
        for n in (
            len(users),
            len(spaces),
            len(projects),
            len(by_type["SPACE"]),
            len(by_type["PROJECT"]),
            len(service_keys),
        )
    )
    assert requests == pages


def test_control_plane_reseeds_with_a_scale_seed_or_names_the_bad_one(
    scale_emulator: ArizeEmulatorServer,
) -> None:
    with httpx.Client(base_url=scale_emulator.base_url, trust_env=False) as http:
        bad = http.post("/_emulator/reset", json={"seed": "scale:users=-1"})
        assert bad.status_code == 422
        assert "users must be >= 0" in bad.text
        assert len(scale_emulator.emulator.state.users) > 600  # nothing lost
        key = http.post(
            "/_emulator/reset",
            json={
                "seed": "scale:users=40,bindings=60,spaces=5,projects=5,"
                "service_keys=3,key_creators=2,user_keys=4,"
                "invited=5,deleted=1,restricted_projects=1"
            },
        ).json()["admin_key"]
        listed = http.get(
            "/v2/users", params={"limit": 100}, headers={"Authorization": f"Bearer {key}"}
        ).json()
    assert len(listed["users"]) == 40 - 1 + 1  # the admin, and every person but the deleted
