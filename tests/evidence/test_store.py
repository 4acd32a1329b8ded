"""The chain in the service's database (SQLite and PostgreSQL): signed appends only, one linear
chain under concurrent appends, and `evidence verify` naming a row edited or deleted behind
the service's back."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from cli.main import app as cli
from core.evidence import verify_chain
from tests.evidence.records import record
from tests.evidence.service import SERVICE_KEY, evidence_api, signed_batch
from webhooks.evidence.store import chain_rows
from webhooks.inbox_records import NewEvent


@pytest.fixture(autouse=True)
def _service_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARIZE_RUNBOOKS_SERVICE_KEY", SERVICE_KEY)


async def _append(url: str, batches: list[list[int]]) -> list[dict]:
    async with evidence_api(url) as (client, inbox):
        await inbox.add(
            NewEvent(source="okta", event_id="okta-evt-1", event_type="user.deactivate", payload={})
        )
        answers = []
        for numbers in batches:
            body, headers = signed_batch([record(n) for n in numbers])
            response = await client.post("/evidence/records", json=body, headers=headers)
            assert response.status_code == 200, response.text
            answers.append(response.json())
        return answers


async def _rows(url: str) -> list:
    engine = create_async_engine(url)
    try:
        return [row async for row in chain_rows(engine)]
    finally:
        await engine.dispose()


async def test_only_a_batch_signed_with_the_service_key_is_appended(inbox_url: str):
    async with evidence_api(inbox_url) as (client, _):
        body, headers = signed_batch([record(1)])
        unsigned = await client.post("/evidence/records", json=body)
        forged = await client.post(
            "/evidence/records", json=body, headers={next(iter(headers)): "0" * 64}
        )
        altered = {"records": [{**body["records"][0], "outcome": "refused"}]}
        tampered = await client.post("/evidence/records", json=altered, headers=headers)
        head = (await client.get("/evidence/head")).json()
    assert [r.status_code for r in (unsigned, forged, tampered)] == [401, 401, 401]
    assert head == {"seq": 0, "hash": None}
    assert await _rows(inbox_url) == []


async def test_appends_chain_in_order_and_a_replayed_batch_adds_nothing(inbox_url: str):
    first, second, replay = await _append(inbox_url, [[1, 2], [3], [1, 2]])
    assert [a["seq"] for a in first["appended"]] == [1, 2]
    assert second["appended"][0]["seq"] == 3
    assert [a["created"] for a in replay["appended"]] == [False, False]
    assert [a["hash"] for a in replay["appended"]] == [a["hash"] for a in first["appended"]]
    rows = await _rows(inbox_url)
    assert [row.seq for row in rows] == [1, 2, 3]
    assert verify_chain(rows).ok
    body = json.loads(rows[0].body)
    # The service stamped the HR event's arrival from its inbox.
    assert body["record"]["trigger"]["received_at"] is not None


async def test_concurrent_appends_make_one_linear_chain(inbox_url: str):
    async with evidence_api(inbox_url) as (client, _):
        async def post(n: int) -> int:
            body, headers = signed_batch([record(n * 10 + i) for i in range(3)])
            response = await client.post("/evidence/records", json=body, headers=headers)
            return response.status_code

        statuses = await asyncio.gather(*(post(n) for n in range(12)))
    assert statuses == [200] * 12
    rows = await _rows(inbox_url)
    assert [row.seq for row in rows] == list(range(1, 37))
    assert verify_chain(rows).ok


def _tamper(url: str, sql: str) -> None:
    async def run() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    # The table's owner can switch the guard off; the chain still tells.
                    await connection.execute(
                        text("ALTER TABLE evidence_records DISABLE TRIGGER USER")
                    )
                await connection.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.mark.parametrize(
    ("sql", "row", "why"),
    [
        ("UPDATE evidence_records SET body = replace(body, 'approver@', 'intruder@') "
         "WHERE seq = 3", 3, "edited"),
        ("DELETE FROM evidence_records WHERE seq = 2", 2, "missing"),
    ],
    ids=["edit", "delete"],
)
def test_verify_names_the_row_edited_or_deleted(inbox_url: str, sql, row, why):
    asyncio.run(_append(inbox_url, [[1, 2, 3, 4, 5]]))
    runner = CliRunner()
    good = runner.invoke(cli, ["evidence", "verify", "--db", inbox_url])
    assert good.exit_code == 0 and "5 record(s)" in good.output

    _tamper(inbox_url, sql)

    bad = runner.invoke(cli, ["evidence", "verify", "--db", inbox_url])
    assert bad.exit_code == 2
    assert f"chain broken at row {row}" in bad.output and why in bad.output


def test_postgresql_refuses_update_delete_and_truncate(postgres_url):
    asyncio.run(_append(postgres_url, [[1, 2]]))
    dsn = postgres_url.replace("postgresql+asyncpg", "postgresql")

    async def attempt(sql: str) -> str:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        except asyncpg.PostgresError as exc:
            return str(exc)
        finally:
            await conn.close()
        return "allowed"

    for sql in (
        "UPDATE evidence_records SET outcome = 'x'",
        "DELETE FROM evidence_records",
        "TRUNCATE evidence_records",
    ):
        assert "append-only" in asyncio.run(attempt(sql)), sql
    assert len(asyncio.run(_rows(postgres_url))) == 2


def test_export_has_one_row_per_change_and_the_population_line(inbox_url: str, tmp_path):
    asyncio.run(_append(inbox_url, [[1, 2, 3]]))
    runner = CliRunner()
    out = tmp_path / "evidence.csv"
    result = runner.invoke(
        cli, ["evidence", "export", "--db", inbox_url, "--format", "csv", "--output", str(out),
              "--from", "2020-01-01", "--to", "2099-12-31"],
    )
    assert result.exit_code == 0, result.output
    first, *rest = out.read_text().splitlines()
    assert first.startswith("# population: 3 record(s), first hash ")
    assert "chain verified (3 rows" in first
    rows = list(csv.DictReader(io.StringIO("\n".join(rest))))
    assert [r["seq"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["approvers"] == "approver@acme.example"
    assert rows[0]["hr_event_at"] and float(rows[0]["time_to_revoke_seconds"]) != 0

    jsonl = runner.invoke(cli, ["evidence", "export", "--db", inbox_url, "--format", "jsonl",
                                "--leavers"])
    lines = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert lines[0]["population"]["count"] == 3 and lines[0]["population"]["chain_verified"]
    assert lines[1]["subject"] == "lee@acme.example" and lines[1]["changes"] == 3

    none = runner.invoke(cli, ["evidence", "export", "--db", inbox_url, "--to", "2000-01-01"])
    assert none.stdout.startswith("# population: 0 record(s)")
    bad = runner.invoke(cli, ["evidence", "export", "--db", inbox_url, "--format", "xml"])
    assert bad.exit_code == 2 and "--format" in bad.output


def test_a_published_head_catches_rows_deleted_from_the_end(inbox_url: str, tmp_path):
    asyncio.run(_append(inbox_url, [[1, 2, 3, 4]]))
    runner = CliRunner()
    heads = tmp_path / "heads.jsonl"
    published = runner.invoke(
        cli, ["evidence", "publish-head", "--db", inbox_url, "--file", str(heads)]
    )
    assert published.exit_code == 0, published.output
    head = json.loads(heads.read_text().splitlines()[-1])
    assert head["seq"] == 4 and head["verified"] and len(head["hash"]) == 64

    _tamper(inbox_url, "DELETE FROM evidence_records WHERE seq >= 3")

    alone = runner.invoke(cli, ["evidence", "verify", "--db", inbox_url])
    assert alone.exit_code == 0  # the shortened chain is consistent in itself
    against = runner.invoke(
        cli, ["evidence", "verify", "--db", inbox_url, "--head", f"{head['seq']}:{head['hash']}"]
    )
    assert against.exit_code == 2
    assert "chain broken at row 3" in against.output and "deleted from the end" in against.output
