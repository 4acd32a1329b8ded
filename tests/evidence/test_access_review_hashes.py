"""The access review's items CSV carries the evidence hash of each grant it revoked."""

from __future__ import annotations

import csv
import io

from flows.access_review.outputs import ITEM_COLUMNS, CertificationRecord, _csv
from flows.access_review.review import ItemKind, Review, ReviewItem


def _item(n: int, grant: str) -> ReviewItem:
    return ReviewItem(
        id=f"item-{n}", hash="h", kind=ItemKind.SPACE, subject_email="lee@acme.example",
        subject="lee@acme.example", grant=grant, reviewers=["dana@acme.example"],
        reviewed_by="space owners", action="unbind-role", params={"binding_id": f"b{n}"},
    )


def test_each_revoked_grant_shows_its_evidence_hash_and_kept_ones_none():
    revoked, kept = _item(1, "MEMBER on space fraud"), _item(2, "MEMBER on space ml")
    record = CertificationRecord(
        review=Review(review_id="r1", items=[revoked, kept], findings=[], limits=[]),
        run_id="run-1",
        decisions={},
        # The remediation plan's change key is "<action>:<grant> of <subject>".
        evidence={"unbind-role:MEMBER on space fraud of lee@acme.example": "ab" * 32},
    )
    rows = list(csv.DictReader(io.StringIO(_csv(ITEM_COLUMNS, record.item_rows()))))
    assert [r["evidence_hash"] for r in rows] == ["ab" * 32, ""]
