"""The IdP export's groups (core/idp_export.py), as saml-role-mapping reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.idp_export import load_active_emails, load_group_memberships
from core.planning.plan import SpecError


def test_a_groups_column_splits_on_semicolons(tmp_path: Path):
    path = tmp_path / "okta.csv"
    path.write_text("Email,Groups\nA@Acme.example,arize-users; arize-auditors\nb@acme.example,\n")

    assert load_group_memberships(str(path)) == {
        "a@acme.example": {"arize-users", "arize-auditors"},
        "b@acme.example": set(),
    }
    # access-review reads the same file for who is active.
    assert load_active_emails(str(path)) == {"a@acme.example", "b@acme.example"}


def test_one_group_per_row_adds_up(tmp_path: Path):
    path = tmp_path / "okta.csv"
    path.write_text("group,email\narize-users,a@acme.example\narize-auditors,a@acme.example\n")

    groups = load_group_memberships(str(path))

    assert groups == {"a@acme.example": {"arize-users", "arize-auditors"}}


def test_json_people_with_groups(tmp_path: Path):
    path = tmp_path / "okta.json"
    path.write_text(json.dumps({"people": [{"email": "a@acme.example", "groups": ["g1", "g2"]}]}))

    assert load_group_memberships(str(path)) == {"a@acme.example": {"g1", "g2"}}


def test_a_bad_row_is_named(tmp_path: Path):
    path = tmp_path / "okta.csv"
    path.write_text("email,groups\na@acme.example,g1\nnot-an-email,g2\n")

    with pytest.raises(SpecError, match="row 3: 'not-an-email' is not an email address"):
        load_group_memberships(str(path))
