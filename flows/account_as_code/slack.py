"""Drift in Slack: one message per new drift, with Revert and Adopt, and the patch in its thread.

The buttons carry ``run_id|account-drift|hash``: the detect-drift run that found the drift and
the hash of the plan it posted, so a click on an outdated message can be told apart.
"""

from __future__ import annotations

from prefect.runtime import flow_run

from blocks.slack import SlackApprovals
from core.planning.plan import Plan
from flows.account_as_code.drift import DriftSource
from tasks.approvals.slack_blocks import redact

REVERT = "account_drift_revert"
ADOPT = "account_drift_adopt"
SHOWN = 20
"""Changes listed in the message; the artifact has them all."""


def drift_blocks(source: DriftSource, plan: Plan, run_id: str) -> list[dict]:
    """The message: what drifted, and the two buttons."""
    lines = [f"• {c.describe()}" + (" _(gated)_" if c.destructive else "")
             for c in plan.changes[:SHOWN]]
    if len(plan.changes) > SHOWN:
        lines.append(f"… and {len(plan.changes) - SHOWN} more (see the run's artifact)")
    value = f"{run_id}|account-drift|{plan.hash[:16]}"
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*Account drift* from `{source.describe()}`: the account differs from "
                f"the files in {len(plan.changes)} way(s).\n" + "\n".join(lines),
            },
        },
        {
            "type": "actions",
            "elements": [
                {"type": "button", "action_id": REVERT, "style": "danger", "value": value,
                 "text": {"type": "plain_text", "text": "Revert"}},
                {"type": "button", "action_id": ADOPT, "style": "primary", "value": value,
                 "text": {"type": "plain_text", "text": "Adopt"}},
            ],
        },
    ]


async def post_drift(slack: SlackApprovals, source: DriftSource, plan: Plan, patch: str) -> None:
    """Post the drift, then the adopt patch in its thread."""
    client = slack.get_client()
    run_id = str(flow_run.id or "")
    text = f"Account drift from {source.describe()}: {len(plan.changes)} change(s)"
    response = await client.chat_postMessage(
        channel=slack.channel, text=text, blocks=drift_blocks(source, plan, run_id)
    )
    thread = response.get("ts")
    body = patch.rstrip() or "(nothing to patch in these files)"
    await client.chat_postMessage(
        channel=response.get("channel") or slack.channel,
        thread_ts=thread,
        text=redact(f"Adopt: apply this patch to the files\n```\n{body[:35000]}\n```"),
    )
