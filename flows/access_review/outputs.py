"""What the review publishes: a table artifact, a markdown summary, CSV and JSON for auditors.

Files are named by the review (``access-review-<id>-items.csv``, ``-findings.csv``, ``.json``)
and written to a temporary file first, then renamed: a rerun or a crash mid-write leaves either
the old file or the new one, never half of one.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections import Counter
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from pydantic import BaseModel

from core.naming import slug
from flows.access_review.decisions import Decision
from flows.access_review.review import Review

# A table artifact is for people: the files hold everything.
MAX_TABLE_ROWS = 500

ITEM_COLUMNS = [
    "item_id",
    "kind",
    "subject",
    "grant",
    "reviewed_by",
    "reviewers",
    "flags",
    "decision",
    "decided_by",
    "decided_at",
    "source",
    "evidence_hash",
]
FINDING_COLUMNS = ["kind", "subject", "detail", "item_id"]


class CertificationRecord(BaseModel):
    """The review as kept for auditors: every grant, its findings and its decision."""

    review: Review
    run_id: str
    decisions: dict[str, Decision]
    remediation: str | None = None
    #: The remediation's change key (``action:target``) → its evidence record's chain hash.
    evidence: dict[str, str] = {}

    def item_rows(self) -> list[dict[str, str]]:
        """One row per grant, with its decision (empty while undecided)."""
        rows = []
        hashes = {key.split(":", 1)[1]: digest for key, digest in self.evidence.items()}
        for item in self.review.items:
            decision = self.decisions.get(item.id)
            verdict = ""
            if decision is not None:
                verdict = decision.verdict.value + (" (flagged)" if decision.flagged else "")
            rows.append(
                {
                    "item_id": item.id,
                    "kind": item.kind.value,
                    "subject": item.subject,
                    "grant": item.grant,
                    "reviewed_by": item.reviewed_by,
                    "reviewers": " ".join(item.reviewers),
                    "flags": " ".join(f.value for f in item.flags),
                    "decision": verdict,
                    "decided_by": decision.by if decision else "",
                    "decided_at": decision.at.isoformat(timespec="seconds") if decision else "",
                    "source": decision.source if decision else "",
                    # The remediation plan names a revoked grant "<grant> of <subject>".
                    "evidence_hash": hashes.get(f"{item.grant} of {item.subject}", ""),
                }
            )
        return rows


def summary_markdown(record: CertificationRecord) -> str:
    """The review in a page: counts, findings by kind, decisions, limits."""
    review = record.review
    kinds = Counter(i.kind.value for i in review.items)
    flagged = Counter(f.kind.value for f in review.findings)
    verdicts = Counter(
        d.verdict.value + (" (default, flagged)" if d.flagged else "")
        for d in record.decisions.values()
    )
    undecided = len(review.items) - len(record.decisions)
    lines = [
        f"# Access review {review.review_id}",
        "",
        f"- grants reviewed: {len(review.items)} ("
        + ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items()))
        + ")",
        f"- findings: {len(review.findings)}",
        "- decisions: "
        + (", ".join(f"{k}: {n}" for k, n in sorted(verdicts.items())) or "none yet")
        + f"; undecided: {undecided}",
        f"- flow run: {record.run_id}",
    ]
    if record.remediation:
        lines.append(f"- remediation: {record.remediation}")
    if flagged:
        lines += ["", "## Findings", "", "| finding | count |", "|---|---|"]
        lines += [f"| {k} | {n} |" for k, n in sorted(flagged.items())]
    if review.limits:
        lines += ["", "## What the admin API cannot show", ""]
        lines += [f"- {limit}" for limit in review.limits]
    return "\n".join(lines)


@task(name="Publish access review", task_run_name="publish access review {record.review.review_id}")
async def publish(record: CertificationRecord, output_dir: str | None) -> list[str]:
    """Save the summary and findings as artifacts and, with ``output_dir``, the files.

    Returns:
        The paths written.
    """
    review = record.review
    key = f"access-review-{slug(review.review_id)}"[:90]
    await acreate_markdown_artifact(
        markdown=summary_markdown(record),
        key=key,
        description=f"Access review {review.review_id}",
    )
    rows = [f.model_dump(mode="json") for f in review.findings[:MAX_TABLE_ROWS]]
    await acreate_table_artifact(
        table=rows or [dict.fromkeys(FINDING_COLUMNS, "")],
        key=f"{key}-findings",
        description=f"Findings of access review {review.review_id}"
        + (
            f" (first {MAX_TABLE_ROWS}; the CSV has all)"
            if len(review.findings) > rows.__len__()
            else ""
        ),
    )
    paths: list[str] = []
    if output_dir:
        paths = await asyncio.to_thread(write_files, record, output_dir)
    get_run_logger().info(
        "access review %s: %d grants, %d findings, %d decided; files: %s",
        review.review_id,
        len(review.items),
        len(review.findings),
        len(record.decisions),
        ", ".join(paths) or "none",
    )
    return paths


def write_files(record: CertificationRecord, output_dir: str) -> list[str]:
    """Write the items CSV, the findings CSV and the whole record as JSON."""
    directory = Path(output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"access-review-{slug(record.review.review_id)}"
    items = _csv(ITEM_COLUMNS, record.item_rows())
    findings = _csv(
        FINDING_COLUMNS,
        [{**f.model_dump(mode="json"), "item_id": f.item_id or ""} for f in record.review.findings],
    )
    written = [
        _atomic(directory / f"{stem}-items.csv", items),
        _atomic(directory / f"{stem}-findings.csv", findings),
        _atomic(directory / f"{stem}.json", record.model_dump_json(indent=2) + "\n"),
    ]
    return [str(p) for p in written]


def _csv(columns: list[str], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _atomic(path: Path, text: str) -> Path:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return path
