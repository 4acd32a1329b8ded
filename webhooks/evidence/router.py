"""``POST /evidence/records``: flows append their records here, signed with the service key.

Workers never hold database credentials: they post, and only a batch signed with the service
key (the key the service signs triggers with) is appended. A replayed batch finds its records
by their ``record_id`` and adds nothing. ``GET /evidence/head`` answers the chain's newest row.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError

from core.evidence import SIGNATURE_HEADER, SIGNATURE_PURPOSE, EvidenceBatch
from core.service_key import verify
from webhooks.errors import InvalidSignature, MalformedRequest, SourceNotConfigured
from webhooks.evidence.store import EvidenceStore
from webhooks.verify import read_body

router = APIRouter(prefix="/evidence", tags=["evidence"])


class AppendedRecord(BaseModel):
    """One record's place in the chain."""

    record_id: str
    seq: int
    hash: str
    created: bool


class AppendAnswer(BaseModel):
    """The answer to a posted batch, in its order."""

    appended: list[AppendedRecord]


class Head(BaseModel):
    """The chain's newest row (``seq`` 0 and no hash: empty)."""

    seq: int
    hash: str | None


def _store(request: Request) -> EvidenceStore:
    store: EvidenceStore | None = getattr(request.app.state, "evidence_store", None)
    if store is None:
        raise SourceNotConfigured("the evidence store is not open")
    return store


@router.post("/records", response_model=AppendAnswer)
async def append_records(request: Request) -> AppendAnswer:
    """Append a signed batch of records to the chain; 401 unless the service key signed it."""
    limit = request.app.state.settings.max_body_bytes * 16
    body = await read_body(request, limit)
    try:
        payload: Any = json.loads(body)
    except ValueError:
        raise MalformedRequest("the body is not JSON") from None
    if not isinstance(payload, dict) or not verify(
        SIGNATURE_PURPOSE, payload, request.headers.get(SIGNATURE_HEADER)
    ):
        raise InvalidSignature("the batch is not signed with this service's key")
    try:
        batch = EvidenceBatch.model_validate(payload)
    except ValidationError as exc:
        fields = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})[:5]
        raise MalformedRequest(f"not an evidence batch; check {', '.join(fields)}") from None
    appended = await _store(request).append(batch.records)
    return AppendAnswer(
        appended=[
            AppendedRecord(record_id=a.record_id, seq=a.seq, hash=a.hash, created=a.created)
            for a in appended
        ]
    )


@router.get("/head", response_model=Head)
async def head(request: Request) -> Head:
    """The chain's newest row: what ``evidence publish-head`` publishes."""
    found = await _store(request).head()
    return Head(seq=found[0], hash=found[1]) if found else Head(seq=0, hash=None)
