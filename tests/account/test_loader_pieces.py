"""A long top-level list is read in pieces (``loader.CHUNK`` items at a time), never composed
whole; what the files say, and every problem's file:line, are the same as for a short list."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows.account_as_code.loader import CHUNK, AccountFilesError, _Composer, load_account

PEOPLE = 2 * CHUNK + 37  # three pieces, the last one short


def _people(n: int) -> list[dict[str, str]]:
    return [{"email": f"p{i}@acme.example", "name": f"Person {i}"} for i in range(n)]


def _write(directory: Path, people: list[dict[str, str]]) -> Path:
    directory.mkdir(exist_ok=True)
    text = "ownership:\n  roles: additive\n" + yaml.safe_dump({"users": people}, sort_keys=False)
    (directory / "users.yaml").write_text(text)
    return directory


def _line_of(directory: Path, email: str) -> int:
    lines = (directory / "users.yaml").read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if email in line)


def test_pieces_join_to_what_the_whole_file_says(tmp_path: Path) -> None:
    text = _write(tmp_path / "a", _people(PEOPLE)).joinpath("users.yaml").read_text()
    whole = _Composer("users.yaml").load(text)

    pieces = list(_Composer("users.yaml").pieces(text))

    assert [len(p.get("users", [])) for p in pieces] == [0, CHUNK, CHUNK, 37]
    joined = {"ownership": pieces[0]["ownership"],
              "users": [u for p in pieces[1:] for u in p["users"]]}  # fmt: skip
    assert joined == whole
    loaded = load_account(tmp_path / "a")
    assert list(loaded.users) == [f"p{i}@acme.example" for i in range(PEOPLE)]


def test_a_bad_person_in_a_later_piece_is_named_by_its_place_in_the_file(tmp_path: Path) -> None:
    people = _people(PEOPLE)
    bad = CHUNK + 13
    people[bad]["email"] = "not-an-email"
    directory = _write(tmp_path / "b", people)

    with pytest.raises(AccountFilesError) as raised:
        load_account(directory)

    (problem,) = raised.value.problems
    assert problem.what.startswith(f"users[{bad}].email:")
    assert problem.where == f"users.yaml:{_line_of(directory, 'not-an-email') }"


def test_a_person_declared_twice_across_pieces_is_found_at_both_places(tmp_path: Path) -> None:
    people = _people(PEOPLE)
    people[-1]["email"] = "p3@acme.example"
    directory = _write(tmp_path / "c", people)

    with pytest.raises(AccountFilesError) as raised:
        load_account(directory)

    (problem,) = raised.value.problems
    first = _line_of(directory, "email: p3@acme.example")
    last = len((directory / "users.yaml").read_text().splitlines()) - 1
    assert problem.what == f"user 'p3@acme.example' is declared twice (first at users.yaml:{first})"
    assert problem.where == f"users.yaml:{last}"


def test_broken_yaml_after_good_pieces_reports_only_the_yaml(tmp_path: Path) -> None:
    directory = _write(tmp_path / "d", _people(PEOPLE))
    path = directory / "users.yaml"
    path.write_text(path.read_text() + "- email: [unclosed\n")

    with pytest.raises(AccountFilesError) as raised:
        load_account(directory)

    (problem,) = raised.value.problems
    assert problem.what.startswith("not valid YAML")
    assert problem.where.startswith("users.yaml:")


def test_anchors_and_aliases_read_as_when_composed_whole(tmp_path: Path) -> None:
    text = (
        "users:\n"
        "  - &ann {email: ann@acme.example, name: Ann}\n"
        "spaces:\n"
        "  - name: fraud\n    organization: Acme\n    members:\n"
        "      - {email: ann@acme.example, role: MEMBER}\n"
        "defaults: &d {account_role: MEMBER}\n"
    )
    whole = _Composer("x.yaml").load(text)
    pieces = list(_Composer("x.yaml").pieces(text))
    joined: dict = {}
    for piece in pieces:
        for key, value in piece.items():
            joined[key] = [*joined.get(key, []), *value] if isinstance(value, list) else value
    assert joined == whole
