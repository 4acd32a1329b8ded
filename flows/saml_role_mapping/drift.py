"""The scheduled drift check: a dry run that tells Slack when Arize no longer matches the spec.

A rule edited by hand in Arize (or a role's permissions) shows up as changes in the next plan.
The saml-role-mapping deployment carries a daily dry-run schedule with ``report_drift`` on,
inactive until an admin turns it on; each of its runs posts the plan's changes to the policy's
Slack channel when there are any, and nothing when Arize matches.
"""

from __future__ import annotations

from prefect import get_run_logger, task

from blocks.policy import RunbookPolicy
from core.planning.plan import Plan
from tasks.retry import STEP_OPTIONS

MAX_LINES = 20
"""Changes listed in the Slack message; the plan artifact has the rest."""


def drift_text(plan: Plan) -> str:
    """The Slack message: what differs, and how to put it back."""
    lines = [
        f"saml-role-mapping drift: {len(plan.changes)} change(s) would bring Arize back to the "
        f"spec (plan {plan.hash[:12]}, {len(plan.destructive)} needing approval):"
    ]
    lines += [f"• {change.describe()}" for change in plan.changes[:MAX_LINES]]
    if len(plan.changes) > MAX_LINES:
        lines.append(f"… and {len(plan.changes) - MAX_LINES} more in the run's plan artifact")
    lines += [f"• {note}" for note in plan.notes if note.startswith(("drift:", "excess:"))][
        :MAX_LINES
    ]
    lines.append("Run saml-role-mapping without dry_run to apply the spec, or update the spec.")
    return "\n".join(lines)


@task(name="Report drift", task_run_name="report saml-role-mapping drift", **STEP_OPTIONS)
async def report_drift(plan: Plan, policy: RunbookPolicy) -> str | None:
    """Post the plan's changes to the policy's Slack channel; nothing when there are none.

    Returns:
        A note for the run's report, or None when Arize matches the spec.
    """
    if not plan.changes:
        return None
    if policy.slack is None:
        get_run_logger().warning("drift found, but the policy has no Slack app to report it to")
        return f"drift: {len(plan.changes)} change(s); no Slack app in the policy to report it"
    slack = policy.slack.get_client()
    await slack.chat_postMessage(channel=policy.slack.channel, text=drift_text(plan))
    return f"drift: {len(plan.changes)} change(s) reported to {policy.slack.channel}"
