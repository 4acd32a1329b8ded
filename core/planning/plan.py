"""Plans: the read-only diff between a spec and live state, as an ordered list of typed changes.

The changes are the models of core.planning.changes; tasks.steps.apply applies each through
its step. A plan is what an approver approves. Its hash covers every change and every field, so a
plan recomputed after approval can be compared with the approved one: if live state moved in
between, the hashes differ and nothing is applied (see `ensure_no_drift`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter

from pydantic import BaseModel, Field

from core.planning.changes import Action as Action  # re-exported: Plan users name actions
from core.planning.changes import AnyChange, Change


class Plan(BaseModel):
    """An ordered list of changes for one runbook run, plus what was already in place."""

    runbook: str
    subject: str
    changes: list[AnyChange] = Field(default_factory=list)
    in_place: list[str] = Field(
        default_factory=list, description="What the spec asks for and live state already has."
    )
    notes: list[str] = Field(default_factory=list)
    api_calls: int = Field(default=0, description="Requests the planning made; not hashed.")

    @property
    def hash(self) -> str:
        """SHA-256 over the runbook, subject and every change, in order."""
        payload = {
            "runbook": self.runbook,
            "subject": self.subject,
            "changes": [c.model_dump(mode="json") for c in self.changes],
        }
        encoded = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(encoded).hexdigest()

    @property
    def destructive(self) -> list[Change]:
        """The changes that need an approval."""
        return [c for c in self.changes if c.destructive]

    @property
    def stages(self) -> list[list[Change]]:
        """Changes grouped by stage, in stage order."""
        by_stage: dict[int, list[Change]] = {}
        for change in self.changes:
            by_stage.setdefault(change.stage, []).append(change)
        return [by_stage[s] for s in sorted(by_stage)]

    def counts(self) -> dict[str, int]:
        """Number of changes per action."""
        return dict(Counter(str(c.action) for c in self.changes))

    def diff(self, other: Plan) -> list[str]:
        """Changes present in only one of two plans, as ``+``/``-`` lines."""
        mine = {c.model_dump_json() for c in self.changes}
        theirs = {c.model_dump_json() for c in other.changes}
        gone = [f"- {c.describe()}" for c in self.changes if c.model_dump_json() not in theirs]
        new = [f"+ {c.describe()}" for c in other.changes if c.model_dump_json() not in mine]
        return gone + new

    def render_text(self) -> str:
        """The plan as plain text, for terminals and logs."""
        lines = [f"{self.runbook} · {self.subject} · plan {self.hash[:12]}"]
        if not self.changes:
            lines.append("  nothing to change")
        for change in self.changes:
            flag = "!" if change.destructive else "+"
            lines.append(f"  {flag} [{change.stage}] {change.describe()}")
        lines.extend(f"  = {item}" for item in self.in_place)
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def render_markdown(self) -> str:
        """The plan as a Prefect markdown artifact."""
        lines = [
            f"# {self.runbook}: {self.subject}",
            "",
            f"Plan `{self.hash[:12]}`: {len(self.changes)} change(s), "
            f"{len(self.destructive)} destructive.",
            "",
        ]
        if self.changes:
            lines += ["| stage | action | target | destructive | reason |", "|---|---|---|---|---|"]
            lines += [
                f"| {c.stage} | {c.action} | {c.target} | "
                f"{'**yes**' if c.destructive else 'no'} | {c.reason} |"
                for c in self.changes
            ]
        else:
            lines.append("Nothing to change.")
        if self.in_place:
            lines += ["", "## Already in place", ""] + [f"- {item}" for item in self.in_place]
        if self.notes:
            lines += ["", "## Notes", ""] + [f"- {note}" for note in self.notes]
        return "\n".join(lines)


class SpecError(ValueError):
    """A spec names something that does not exist or cannot be done; raised before any change."""

    def __init__(self, field: str, value: object, fix: str) -> None:
        self.field = field
        self.value = value
        self.fix = fix
        super().__init__(f"spec.{field} = {value!r}: {fix}")


class PlanDrift(RuntimeError):
    """Live state changed between approval and apply; nothing was applied."""


def ensure_no_drift(approved: Plan, current: Plan) -> None:
    """Refuse to apply anything but the plan that was approved.

    Raises:
        PlanDrift: naming every change that appeared or disappeared since approval.
    """
    if approved.hash != current.hash:
        diff = "\n".join(approved.diff(current))
        raise PlanDrift(
            f"live state changed since plan {approved.hash[:12]} was approved; nothing was "
            f"applied. Re-run to plan and approve again. Difference:\n{diff}"
        )


class NotConverged(RuntimeError):
    """After apply, live state still differs from the spec."""


def ensure_converged(after: Plan) -> None:
    """Verify: a plan recomputed after apply must be empty.

    Raises:
        NotConverged: naming every change still outstanding.
    """
    if after.changes:
        missing = "\n".join(f"- {c.describe()}" for c in after.changes)
        raise NotConverged(f"{len(after.changes)} change(s) did not take effect:\n{missing}")
