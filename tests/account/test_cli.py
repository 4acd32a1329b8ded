"""``arize-runbooks account export|plan``: readable diff, markdown, json, detailed exit codes,
and bad files reported as what, file:line and fix, with exit 2 and nothing changed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from arize_admin import AsyncArizeAdmin
from cli.main import app as cli
from emulator.arize import create_app
from flows.account_as_code import commands
from flows.account_as_code.loader import load_account
from tests.account.conftest import BASE_URL, MUTATING, edit
from tests.fixtures.arize import ADMIN_KEY

FRAUD = "spaces/Acme/fraud-detection.yaml"
runner = CliRunner()


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """The demo account in process; every command's client talks to it."""
    app = create_app(seed="demo", admin_key=ADMIN_KEY)

    @asynccontextmanager
    async def open_client(policy: str) -> AsyncIterator[AsyncArizeAdmin]:
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http,
            AsyncArizeAdmin(api_key=ADMIN_KEY, base_url=BASE_URL, http_client=http) as client,
        ):
            yield client

    monkeypatch.setattr(commands, "open_client", open_client)
    return app


def mutations(app: FastAPI) -> int:
    async def read() -> dict:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            return (await http.get("/_emulator/requests")).json()

    journal = asyncio.run(read())
    return sum(n for route, n in journal["by_route"].items() if route.split()[0] in MUTATING)


@pytest.fixture
def exported(emulator: FastAPI, tmp_path: Path) -> Path:
    directory = tmp_path / "account"
    result = runner.invoke(cli, ["account", "export", str(directory)])
    assert result.exit_code == 0, result.output
    assert "3 space(s), 2 custom role(s), 4 people" in result.output
    return directory


def test_plan_after_export_says_no_changes_and_exits_0_with_detailed_exitcode(exported: Path):
    result = runner.invoke(cli, ["account", "plan", str(exported), "--detailed-exitcode"])
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output


def test_plan_shows_a_diff_names_the_unmanaged_and_exits_2_when_something_changes(
    exported: Path,
):
    (exported / "spaces" / "Acme" / "ml-platform.yaml").unlink()
    edit(exported / FRAUD, lambda d: d["spaces"][0]["members"].append(
        {"email": "sam@acme.example", "role": "READ_ONLY"}))

    text = runner.invoke(cli, ["account", "plan", str(exported), "--detailed-exitcode"])
    assert text.exit_code == 2, text.output
    assert "+ set space role sam@acme.example in fraud-detection" in text.output
    assert "unmanaged spaces (1): Acme/ml-platform" in text.output

    markdown = runner.invoke(cli, ["account", "plan", str(exported), "--output", "markdown"])
    assert markdown.exit_code == 0
    assert "| 3 | set-space-role | sam@acme.example in fraud-detection |" in markdown.output

    as_json = runner.invoke(cli, ["account", "plan", str(exported), "--output", "json"])
    data = json.loads(as_json.output)
    assert [c["action"] for c in data["changes"]] == ["set-space-role"]
    assert data["changes"][0]["role"] == "READ_ONLY"


BAD = {
    "unknown role (authoritative roles)": (
        lambda d: (
            d["spaces"][0]["members"][0].update(role="Fraud Wizard"),
        ),
        "roles",
        "unknown role 'Fraud Wizard'",
        "declare it under roles",
    ),
    "duplicate names": (
        lambda d: d["spaces"][0]["members"].append(dict(d["spaces"][0]["members"][0])),
        None,
        "member 'dana@acme.example' is declared twice",
        "keep one declaration",
    ),
    "wrong field": (
        lambda d: d["spaces"][0]["members"][0].update(rol="MEMBER"),
        None,
        "extra inputs are not permitted",
        "remove it",
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_files_say_what_where_and_the_fix_exit_2_and_change_nothing(
    emulator: FastAPI, exported: Path, case: str
):
    change, authoritative, what, fix = BAD[case]
    if authoritative:
        edit(exported / "account.yaml",
             lambda d: d["ownership"].update({authoritative: "authoritative"}))
    edit(exported / FRAUD, change)
    before = mutations(emulator)

    result = runner.invoke(cli, ["account", "plan", str(exported)])

    assert result.exit_code == 2, result.output
    assert what in result.output.replace("\n  ", " ") or what.lower() in result.output.lower()
    assert f"{FRAUD}:" in result.output, "names the file and line"
    assert fix in result.output
    apply = runner.invoke(cli, ["account", "apply", str(exported)])
    assert apply.exit_code == 2
    assert mutations(emulator) == before


def test_a_yaml_error_names_its_line(emulator: FastAPI, exported: Path):
    path = exported / FRAUD
    lines = path.read_text().splitlines()
    lines[5] = lines[5] + " : broken: [unclosed"
    path.write_text("\n".join(lines) + "\n")

    result = runner.invoke(cli, ["account", "plan", str(exported)])

    assert result.exit_code == 2, result.output
    assert "not valid YAML" in result.output
    assert f"{FRAUD}:6" in result.output


def test_a_binding_to_an_undeclared_space_is_refused_when_members_are_authoritative(
    emulator: FastAPI, exported: Path
):
    (exported / "teams.yaml").write_text(
        "bindings:\n"
        "  - email: sam@acme.example\n"
        "    role: MEMBER\n"
        "    space: risk-models\n"
    )
    edit(exported / "account.yaml", lambda d: d["ownership"].update(space_members="authoritative"))

    result = runner.invoke(cli, ["account", "plan", str(exported)])

    assert result.exit_code == 2, result.output
    assert "'risk-models' is not declared under spaces" in result.output
    assert "teams.yaml:4" in result.output
    assert "declare space 'risk-models' under spaces" in result.output


def test_a_name_arize_does_not_know_is_placed_at_its_file_and_line(
    emulator: FastAPI, exported: Path
):
    edit(exported / FRAUD, lambda d: d["spaces"][0]["members"].append(
        {"email": "nobody@acme.example", "role": "MEMBER"}))

    result = runner.invoke(cli, ["account", "plan", str(exported), "--detailed-exitcode"])
    assert result.exit_code == 1, "an error is 1 with --detailed-exitcode"

    result = runner.invoke(cli, ["account", "plan", str(exported)])
    assert result.exit_code == 2, result.output
    assert "nobody@acme.example" in result.output
    assert f"{FRAUD}:" in result.output
    assert "declare them under users" in result.output


def test_two_files_giving_the_ownership_are_refused(emulator: FastAPI, exported: Path):
    (exported / "more.yaml").write_text("ownership:\n  roles: authoritative\n")
    result = runner.invoke(cli, ["account", "plan", str(exported)])
    assert result.exit_code == 2
    assert "ownership is given twice (first in account.yaml:2)" in result.output


def test_a_problem_is_placed_at_the_exact_line_of_its_field_in_any_file(exported: Path):
    # Lines are found when a problem asks (the file composed again), not kept for every
    # field: each field of the joined spec still maps to its own file and line.
    loaded = load_account(exported)
    index = next(i for i, s in enumerate(loaded.spec.spaces) if s.name == "fraud-detection")
    lines = (exported / FRAUD).read_text().splitlines()
    role_line = next(n for n, line in enumerate(lines, 1) if "role: Project Viewer" in line)
    dana_line = next(n for n, line in enumerate(lines, 1) if "email: dana@acme.example" in line)

    assert loaded.where(f"spaces[{index}].projects[0].bindings[0].role") == f"{FRAUD}:{role_line}"
    assert loaded.where(f"spaces[{index}].members[0]") == f"{FRAUD}:{dana_line}"
    assert loaded.where(f"spaces[{index}].members[0].nonexistent") == f"{FRAUD}:{dana_line}"
    assert loaded.where("ownership.roles") == "account.yaml:3"
    assert loaded.where("users[0]").startswith("users.yaml:")
