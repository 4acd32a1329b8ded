"""The IdP or HR export of active people: a CSV or JSON file, or emails inline.

access-review reads who is active from it; saml-role-mapping reads each person's groups
(a ``groups`` column or key, or one ``group`` per row). An export that does not parse is
refused before anything is reviewed, with a message naming the row (1-based, the header of
a CSV being row 1) and the fix: a review against a half-read export would flag people who are
in fact active.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from pydantic import EmailStr, TypeAdapter, ValidationError

from core.planning.plan import SpecError

_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)
_FIELD = "idp_export"


def load_active_emails(export: str | list[str], *, allow_empty: bool = False) -> set[str]:
    """The lower-cased emails of the export.

    Args:
        export: A ``.csv`` or ``.json`` path, or the emails inline.
        allow_empty: Accept an export that lists nobody (``allow_empty_idp_export``).

    Raises:
        SpecError: the file is missing or unreadable, a row has no valid email (the message
            names the row), or the export lists nobody and ``allow_empty`` is off.
    """
    emails = _load(export)
    if not emails and not allow_empty:
        # A header-only CSV or [] is what a failed export job writes. Read as "nobody is
        # active", it would flag every Arize user as gone from the IdP.
        raise SpecError(
            _FIELD,
            export if isinstance(export, str) else "[]",
            "lists nobody, so every Arize user would be flagged as not in the IdP; check the "
            "export (a header-only CSV or [] usually means it failed), or set "
            "allow_empty_idp_export: true if the IdP really has no active people",
        )
    return emails


def load_group_memberships(export: str) -> dict[str, set[str]]:
    """Each lower-cased email of the export with its IdP groups.

    A CSV has an ``email`` column and either ``groups`` (separated by ``;``) or ``group`` (one
    per row; a person's rows add up). JSON is a list (or ``{"people": [...]}``) of objects with
    ``email`` and ``groups`` (a list) or ``group``.

    Raises:
        SpecError: as `load_active_emails`, or the export has no groups at all (the message
            names the column or key it looked for).
    """
    people = _read(export)
    if not any(people.values()):
        raise SpecError(
            _FIELD,
            export,
            "lists no groups: give a 'groups' column (groups separated by ';') or one 'group' "
            "per row, or in JSON a 'groups' list per person",
        )
    return people


def _load(export: str | list[str]) -> set[str]:
    if isinstance(export, list):
        return {_email(value, f"item {n}") for n, value in enumerate(export, start=1)}
    return set(_read(export))


def _read(export: str) -> dict[str, set[str]]:
    path = Path(export)
    if not path.is_file():
        raise SpecError(_FIELD, export, "no such file; give a CSV or JSON path, or the emails")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as ex:
        raise SpecError(_FIELD, export, f"cannot be read as UTF-8 text ({ex})") from ex
    if path.suffix.lower() == ".json":
        return _from_json(export, text)
    if path.suffix.lower() == ".csv":
        return _from_csv(export, text)
    raise SpecError(_FIELD, export, "must end in .csv or .json")


def _email(value: Any, where: str, source: str | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SpecError(_FIELD, source or value, f"{where}: no email; every row needs one")
    try:
        return _EMAIL.validate_python(value.strip()).lower()
    except ValidationError as ex:
        raise SpecError(
            _FIELD,
            source or value,
            f"{where}: {value.strip()!r} is not an email address; fix or remove the row",
        ) from ex


def _groups(value: Any) -> set[str]:
    if isinstance(value, str):
        return {g.strip() for g in value.split(";") if g.strip()}
    if isinstance(value, list):
        return {str(g).strip() for g in value if str(g).strip()}
    return set()


def _from_csv(export: str, text: str) -> dict[str, set[str]]:
    reader = csv.DictReader(io.StringIO(text), strict=True)
    try:
        header = [h.strip().lower() for h in reader.fieldnames or []]
    except csv.Error as ex:
        raise SpecError(_FIELD, export, f"row 1: not CSV ({ex})") from ex
    if "email" not in header:
        raise SpecError(_FIELD, export, "row 1: the header has no 'email' column")
    names = reader.fieldnames or []
    column = names[header.index("email")]
    group_columns = [names[header.index(h)] for h in ("groups", "group") if h in header]
    people: dict[str, set[str]] = {}
    try:
        for row in reader:
            # DictReader's line_num counts physical lines read so far: the row just read.
            where = f"row {reader.line_num}"
            if None in row:
                raise SpecError(_FIELD, export, f"{where}: more fields than the header has")
            groups = people.setdefault(_email(row.get(column), where, export), set())
            for group_column in group_columns:
                groups |= _groups(row.get(group_column))
    except csv.Error as ex:
        raise SpecError(_FIELD, export, f"row {reader.line_num}: not CSV ({ex})") from ex
    return people


def _from_json(export: str, text: str) -> dict[str, set[str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as ex:
        raise SpecError(
            _FIELD, export, f"line {ex.lineno}, column {ex.colno}: not JSON ({ex.msg})"
        ) from ex
    if isinstance(data, dict):
        data = data.get("people", data.get("users"))
    if not isinstance(data, list):
        raise SpecError(
            _FIELD,
            export,
            "expected a list of emails or of objects with 'email' (or {\"people\": [...]})",
        )
    people: dict[str, set[str]] = {}
    for n, item in enumerate(data, start=1):
        value = item.get("email") if isinstance(item, dict) else item
        groups = people.setdefault(_email(value, f"row {n}", export), set())
        if isinstance(item, dict):
            groups |= _groups(item.get("groups")) | _groups(item.get("group"))
    return people
