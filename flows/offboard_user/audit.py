"""offboard-user's audit record: what the leaver had, what was removed, who approved, and why.

Written once the run has verified, as a Prefect markdown artifact keyed ``offboard-<email>``
(the UI shows every offboarding of that person as one history) and, when asked, as a JSON file.
It is built from the inventory, which holds redacted keys only, so no key value can reach it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from core.naming import slug
from flows.offboard_user.plan import Inventory, KeyRecord
from flows.offboard_user.spec import OffboardUserSpec
from tasks.reporting.report import RunbookOutcome
from tasks.steps.step import Outcome, StepResult


class AuditRecord(BaseModel):
    """The offboarding, as kept for auditors."""

    runbook: str = "offboard-user"
    user: str
    reason: str
    ticket: str | None
    approver: str | None
    flow_run_id: str | None
    plan_hash: str
    completed_at: datetime
    had: Inventory = Field(description="Everything they had, before the run.")
    removed: list[str] = Field(description="Changes that took effect in this run.")
    already_gone: list[str] = Field(description="Changes a step found already done.")
    kept: list[str] = Field(description="What stays, e.g. service keys they created.")


def build_record(
    spec: OffboardUserSpec,
    inventory: Inventory,
    outcome: RunbookOutcome,
    results: list[StepResult],
) -> AuditRecord:
    """Put the inventory and the run's results together."""
    removed_ids = set()
    if spec.revoke_service_keys:
        removed_ids = {k.id for k in inventory.service_keys}
    return AuditRecord(
        user=inventory.email or spec.email or spec.user_id or "",
        reason=spec.reason,
        ticket=spec.ticket,
        approver=outcome.approver,
        flow_run_id=str(flow_run.id) if flow_run.id else None,
        plan_hash=outcome.plan_hash,
        completed_at=datetime.now(UTC),
        had=inventory,
        removed=[r.change_key for r in results if r.outcome is Outcome.APPLIED],
        already_gone=[r.change_key for r in results if r.outcome is Outcome.ALREADY],
        kept=[
            f"service key {k.name} ({k.redacted_key}) in {', '.join(k.spaces)}"
            for k in inventory.service_keys
            if k.id not in removed_ids
        ],
    )


@task(name="Write offboarding audit record", task_run_name="audit offboard {record.user}")
async def write_audit_record(record: AuditRecord, audit_dir: str | None = None) -> str | None:
    """Save the record as a markdown artifact and, with ``audit_dir``, as a JSON file.

    Example:
        ```python
        @flow
        async def audit(record: AuditRecord):
            path = await write_audit_record(record, audit_dir="/var/audit/arize")
        ```

    Returns:
        The JSON file's path, or None without ``audit_dir``.
    """
    await acreate_markdown_artifact(
        markdown=render_markdown(record),
        key=f"offboard-{slug(record.user)}"[:100],
        description=f"Offboarding of {record.user}: {record.reason}",
    )
    path = await asyncio.to_thread(_write_json, record, audit_dir) if audit_dir else None
    get_run_logger().info(
        "audit record for %s written%s", record.user, f" to {path}" if path else ""
    )
    return path


def _write_json(record: AuditRecord, audit_dir: str) -> str:
    directory = Path(audit_dir)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = record.completed_at.strftime("%Y%m%dT%H%M%SZ")
    target = directory / f"offboard-{slug(record.user)}-{stamp}.json"
    target.write_text(json.dumps(record.model_dump(mode="json"), indent=2) + "\n")
    return str(target)


def render_markdown(record: AuditRecord) -> str:
    """The record as a markdown document with tables."""
    had = record.had
    lines = [
        f"# Offboarding of {record.user}",
        "",
        f"- reason: {record.reason}",
        f"- ticket: {record.ticket or '—'}",
        f"- approved by: {record.approver or '—'}",
        f"- plan: `{record.plan_hash[:12]}`; flow run: {record.flow_run_id or '—'}",
        f"- completed: {record.completed_at.isoformat(timespec='seconds')}",
        "",
        "## What they had",
        "",
        f"- name: {had.name}; user id: `{had.user_id}`",
        f"- account role: {had.account_role}; status: {had.status}",
        f"- organizations (of those spaces): {', '.join(had.organizations) or '—'}",
        f"- spaces (from bindings): {', '.join(had.spaces) or '—'}",
        "",
    ]
    if had.bindings:
        lines += ["| binding | on | role |", "|---|---|---|"]
        lines += [f"| {b.resource_type} | {b.resource} | {b.role} |" for b in had.bindings]
        lines.append("")
    keys = [*had.user_keys, *had.service_keys]
    if keys:
        lines += _key_table(keys)
    lines += ["## Removed", ""] + ([f"- {item}" for item in record.removed] or ["- nothing"])
    if record.already_gone:
        lines += ["", "## Already gone", ""] + [f"- {item}" for item in record.already_gone]
    if record.kept:
        lines += ["", "## Kept", ""] + [f"- {item}" for item in record.kept]
    if had.limits:
        lines += ["", "## Limits of the inventory", ""] + [f"- {item}" for item in had.limits]
    return "\n".join(lines)


def _key_table(keys: list[KeyRecord]) -> list[str]:
    lines = [
        "| key | type | redacted | created | expires | last used |",
        "|---|---|---|---|---|---|",
    ]
    for k in keys:
        lines.append(
            f"| {k.name} | {k.key_type} | `{k.redacted_key}` | {k.created_at:%Y-%m-%d} | "
            f"{f'{k.expires_at:%Y-%m-%d}' if k.expires_at else 'never'} | "
            f"{f'{k.last_used_at:%Y-%m-%d}' if k.last_used_at else '—'} |"
        )
    return [*lines, ""]
