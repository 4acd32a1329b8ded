"""The emulator's tables keep their groups up to date row by row; they must always equal a
grouping built from scratch, whatever mix of writes came before."""

from __future__ import annotations

import random
from dataclasses import dataclass

from emulator.arize.tables import Table


@dataclass
class Row:
    id: str
    user_id: str
    role: str


def rebuilt(table: Table[Row]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = {}
    for row in table.values():
        groups.setdefault(row.user_id, []).append(row)
    return groups


def as_ids(groups: dict[str, list[Row]]) -> dict[str, list[tuple[str, str]]]:
    return {k: [(r.id, r.role) for r in v] for k, v in groups.items() if v}


def test_groups_match_a_rebuild_after_every_kind_of_write() -> None:
    chance = random.Random(7)
    table: Table[Row] = Table()
    table.group_by("user_id", lambda r: r.user_id)  # built empty, then kept up to date
    for step in range(2_000):
        key = f"m{chance.randrange(60)}"
        action = chance.choice(["set", "set", "replace", "del", "pop", "setdefault"])
        if action == "set" and key not in table:
            table[key] = Row(key, f"u{chance.randrange(8)}", "MEMBER")
        elif action == "replace" and key in table:
            table[key] = Row(key, table[key].user_id, f"ROLE{step}")
        elif action == "del" and key in table:
            del table[key]
        elif action == "pop":
            table.pop(key, None)
        elif action == "setdefault":
            table.setdefault(key, Row(key, f"u{chance.randrange(8)}", "ADMIN"))
        kept = table.group_by("user_id", lambda r: r.user_id)
        assert as_ids(kept) == as_ids(rebuilt(table)), (step, action, key)


def test_bulk_writes_regroup_from_scratch() -> None:
    table: Table[Row] = Table()
    table["a"] = Row("a", "u1", "MEMBER")
    assert [r.id for r in table.group_by("user_id", lambda r: r.user_id)["u1"]] == ["a"]
    table.update({"b": Row("b", "u1", "ADMIN"), "c": Row("c", "u2", "MEMBER")})
    groups = table.group_by("user_id", lambda r: r.user_id)
    assert [r.id for r in groups["u1"]] == ["a", "b"]
    assert [r.id for r in groups["u2"]] == ["c"]
    table.clear()
    assert table.group_by("user_id", lambda r: r.user_id) == {}
