"""Export then plan is empty: the test that makes an import trustworthy."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows.account_as_code.export import dump, export_account, write_account, write_list
from flows.account_as_code.live import read_live
from flows.account_as_code.loader import load_account
from tests.account.conftest import Account, _account


async def test_a_plan_right_after_an_export_of_the_demo_account_is_empty(
    account: Account, exported: Path
):
    before = await account.mutations()
    plan = await account.plan(exported)

    assert plan.changes == []
    assert await account.mutations() == before, "export and plan change nothing"
    spec = load_account(exported).spec
    assert {s.name for s in spec.spaces} == {"ml-platform", "fraud-detection", "search-ranking"}
    fraud = next(s for s in spec.spaces if s.name == "fraud-detection")
    assert fraud.id and all(p.id for p in fraud.projects), "stable ids are written"
    assert [(b.email, b.role) for b in fraud.projects[0].bindings] == [
        ("lee.leaver@acme.example", "Project Viewer")
    ]
    assert [k.name for k in fraud.service_keys] == ["ci-fraud-detection"]


async def test_the_export_names_predefined_roles_one_way_whatever_arize_calls_them(
    account: Account, exported: Path
):
    text = "\n".join(p.read_text() for p in sorted(exported.rglob("*.yaml")))  # noqa: ASYNC240
    assert "role: MEMBER" in text
    # Another spelling of the same predefined role is the same role: no change planned.
    space_file = exported / "spaces" / "Acme" / "fraud-detection.yaml"
    space_file.write_text(space_file.read_text().replace("role: MEMBER", "role: Member"))
    assert (await account.plan(exported)).changes == []


@pytest.mark.parametrize("seed", ["scale:users=300,bindings=1200"])
async def test_export_then_plan_of_a_scale_seed_is_empty_and_takes_paged_reads_only(
    seed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    async for account in _account(seed, monkeypatch):
        await account.control("DELETE", "/requests")
        await account.export(tmp_path)
        journal = await account.control("GET", "/requests")
        plan = await account.plan(tmp_path)

        assert plan.changes == []
        # The paged-read bound: one request per page of each collection, nothing per item.
        live = await read_live(account.client)
        bound = live.paged_read_bound()
        assert live.requests <= bound * 1.2, (live.requests, bound)
        assert plan.api_calls == live.requests
        assert all(route.startswith("GET") for route in journal["by_route"])


class NamedKeys:
    """The key store's naming, all export asks of it (no value is read)."""

    def secret_name(self, key_name: str, space: str | None = None) -> str:
        return f"store-{space}--{key_name}"

    async def read_key(self, key_name: str, space: str | None = None, api_key_ids=()):
        raise AssertionError("export never reads a key's value")


async def test_export_names_each_service_keys_entry_in_the_key_store_and_no_secret(
    account: Account, tmp_path: Path
):
    spec = await export_account(account.client, NamedKeys())
    keys = [k for s in spec.spaces for k in s.service_keys]
    assert {k.key_store for k in keys} == {
        "store-fraud-detection--ci-fraud-detection",
        "store-search-ranking--etl-search-ranking",
        "store-search-ranking--lee-etl",
    }
    write_account(spec, tmp_path)
    text = "\n".join(p.read_text() for p in sorted(tmp_path.rglob("*.yaml")))  # noqa: ASYNC240
    assert "ak-" not in text, "no key value, not even a redacted one"


@pytest.mark.parametrize("count", [0, 1, 3])
def test_a_list_written_an_item_at_a_time_is_the_text_dump_gives_the_whole_list(
    tmp_path: Path, count: int
):
    # users.yaml is written a person at a time (the export never holds every person's
    # declaration); the file must be exactly what one dump of the whole list writes.
    people = [
        {"email": "a@acme.example", "name": "Ann: a # not a comment", "invited": True},
        {"email": "b@acme.example", "name": "Bö " + "long " * 40},
        {"email": "c@acme.example", "name": "'quoted'", "account_role": "ADMIN"},
    ][:count]

    path = write_list(tmp_path / "users.yaml", "users", iter(people))

    assert path.read_text() == dump({"users": people})
    assert yaml.safe_load(path.read_text()) == {"users": people}
