"""Evidence of access changes: one record per change, hash-chained, mapped to OCSF.

The records are built by the flows (``tasks/reporting/evidence.py``), appended by the webhook
service (``webhooks/evidence``) and checked by ``arize-runbooks evidence verify``; this package
is what all three agree on, with no Prefect or web framework in it.
"""

from core.evidence.chain import (
    GENESIS,
    ChainCheck,
    ChainRow,
    canonical,
    link_hash,
    verify_chain,
)
from core.evidence.record import (
    SIGNATURE_HEADER,
    SIGNATURE_PURPOSE,
    ApprovalEvidence,
    EvidenceBatch,
    EvidenceOutcome,
    EvidenceRecord,
    StoredRecord,
    Timestamps,
    TriggerEvidence,
)

__all__ = [
    "GENESIS",
    "SIGNATURE_HEADER",
    "SIGNATURE_PURPOSE",
    "ApprovalEvidence",
    "ChainCheck",
    "ChainRow",
    "EvidenceBatch",
    "EvidenceOutcome",
    "EvidenceRecord",
    "StoredRecord",
    "Timestamps",
    "TriggerEvidence",
    "canonical",
    "link_hash",
    "verify_chain",
]
