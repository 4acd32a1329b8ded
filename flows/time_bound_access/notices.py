"""Tell the requester in Slack how their request ended, with a "Revoke now" button on grants."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger
from slack_sdk.errors import SlackApiError

from blocks.policy import RunbookPolicy

REVOKE_ACTION_ID = "access-revoke-now"
"""``action_id`` of the "Revoke now" button; its ``value`` is the grant id."""


def revoke_button(grant_id: str) -> dict[str, Any]:
    """The actions block holding the "Revoke now" button of one grant."""
    return {
        "type": "actions",
        "block_id": f"access-grant-{grant_id}",
        "elements": [
            {
                "type": "button",
                "action_id": REVOKE_ACTION_ID,
                "text": {"type": "plain_text", "text": "Revoke now"},
                "style": "danger",
                "value": grant_id,
                "confirm": {
                    "title": {"type": "plain_text", "text": "End this access now?"},
                    "text": {"type": "plain_text", "text": "The access is removed at once."},
                    "confirm": {"type": "plain_text", "text": "Revoke"},
                    "deny": {"type": "plain_text", "text": "Keep"},
                },
            }
        ],
    }


async def notify_requester(
    policy: RunbookPolicy, slack_user_id: str | None, text: str, *, grant_id: str | None = None
) -> bool:
    """Send ``text`` to the requester as a DM; with ``grant_id``, add the "Revoke now" button.

    A request that did not come from Slack, or a policy without Slack, has no one to tell; a
    Slack error is logged and swallowed: the access itself is already decided and recorded.

    Returns:
        True if the message was posted.
    """
    if policy.slack is None or not slack_user_id:
        return False
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if grant_id is not None:
        blocks.append(revoke_button(grant_id))
    try:
        await policy.slack.get_client().chat_postMessage(
            channel=slack_user_id, text=text, blocks=blocks
        )
    except SlackApiError as ex:
        get_run_logger().warning("could not tell %s in Slack: %s", slack_user_id,
                                 ex.response.get("error"))
        return False
    return True
