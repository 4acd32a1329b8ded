"""The hash chain and the OCSF mapping, in process: every break is found and named."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources

import pytest
from pydantic import ValidationError

from core.evidence import (
    GENESIS,
    ChainRow,
    EvidenceOutcome,
    EvidenceRecord,
    StoredRecord,
    canonical,
    link_hash,
    verify_chain,
)
from core.evidence.ocsf import classify, to_ocsf
from tests.evidence.records import CHANGES, record


def chain(n: int) -> list[ChainRow]:
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        body = canonical({"recorded_at": "2026-12-01T09:00:00+00:00",
                          "record": record(seq).model_dump(mode="json")})
        digest = link_hash(prev, seq, body)
        rows.append(ChainRow(seq=seq, prev_hash=prev, hash=digest, body=body))
        prev = digest
    return rows


def test_an_untouched_chain_verifies_with_its_first_and_last_hash():
    rows = chain(5)
    check = verify_chain(rows)
    assert check.ok and check.count == 5
    assert (check.first_hash, check.last_hash) == (rows[0].hash, rows[-1].hash)


def test_an_edited_row_is_named():
    rows = chain(5)
    edited = rows[2].body.replace("lee@acme.example", "someone@acme.example")
    assert edited != rows[2].body
    rows[2] = ChainRow(rows[2].seq, rows[2].prev_hash, rows[2].hash, edited)
    check = verify_chain(rows)
    assert not check.ok and check.broken_seq == 3
    assert "edited" in check.describe() and "row 3" in check.describe()


def test_an_edited_row_with_its_hash_recomputed_breaks_the_next_link():
    rows = chain(5)
    body = rows[1].body.replace('"applied"', '"refused"')
    rows[1] = ChainRow(2, rows[1].prev_hash, link_hash(rows[1].prev_hash, 2, body), body)
    check = verify_chain(rows)
    assert check.broken_seq == 3 and "previous-hash" in (check.reason or "")


def test_a_deleted_row_is_named():
    rows = chain(5)
    del rows[1]
    check = verify_chain(rows)
    assert check.broken_seq == 2 and "missing" in (check.reason or "")


def test_rows_deleted_from_the_end_are_found_only_against_a_published_head():
    rows = chain(5)
    head = (5, rows[-1].hash)
    assert verify_chain(rows[:3]).ok  # no later link can tell
    check = verify_chain(rows[:3], head=head)
    assert check.broken_seq == 4 and "deleted from the end" in (check.reason or "")
    assert verify_chain(rows, head=head).ok


def test_records_refuse_unknown_fields():
    data = record().model_dump(mode="json")
    with pytest.raises(ValidationError, match="api_key"):
        EvidenceRecord.model_validate({**data, "api_key": "x"})


def _schema_activities(class_uid: int) -> set[int]:
    """Activity ids of a class, from the OCSF 1.7.0 schema export pydantic-ocsf ships."""
    schema = json.loads((resources.files("ocsf") / "schemas" / "v1_7_0.json").read_text())
    names = {3001: "account_change", 3005: "user_access", 3006: "group_management"}
    own = schema["events"][names[class_uid]]["attributes"]["activity_id"]["enum"]
    # Unknown (0) and Other (99) are every class's, from the base event it extends.
    base = schema["events"]["base_event"]["attributes"]["activity_id"]["enum"]
    return {int(k) for k in [*own, *base]}


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: str(c["action"]))
@pytest.mark.parametrize("outcome", list(EvidenceOutcome), ids=str)
def test_every_record_is_a_valid_ocsf_event_of_its_class(change, outcome):
    stored = StoredRecord(
        seq=7, recorded_at=datetime(2026, 12, 1, 9, 7, tzinfo=UTC),
        record=record(change=change, outcome=outcome), prev_hash=GENESIS, hash="cd" * 32,
    )
    event = to_ocsf(stored)
    class_uid, activity = classify(str(change["action"]))
    assert event["class_uid"] == class_uid in (3001, 3005, 3006)
    assert event["category_uid"] == 3
    assert event["activity_id"] == activity in _schema_activities(class_uid)
    assert event["type_uid"] == class_uid * 100 + activity
    assert event["metadata"]["uid"] == stored.hash  # the SIEM's idempotency key
    assert event["metadata"]["version"] == "1.7.0"
    assert event["status_id"] == (1 if outcome.succeeded else 2)
    assert event["user"]["name"]


def test_the_mapping_names_the_iam_activities_an_auditor_looks_for():
    assert classify("delete-user") == (3001, 6)  # Account Change: Delete
    assert classify("invite-user") == (3001, 1)  # Create
    assert classify("unbind-role") == (3005, 2)  # User Access Management: Revoke Privileges
    assert classify("set-space-role") == (3006, 3)  # Group Management: Add User
