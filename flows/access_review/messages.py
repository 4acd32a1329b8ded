"""The reviewers' Slack messages: Keep / Revoke per grant, reminders, the escalation.

Block builders are pure. A button's value is ``"<run_id>|<item_id>|<item_hash>"`` and nothing
else: the click handler reads the item from the review's run and authorizes the clicker there,
never from the message. Each reviewer gets their grants in messages of at most
:data:`ITEMS_PER_MESSAGE` (Slack allows 50 blocks; each grant takes two).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import get_run_logger
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from flows.access_review.decisions import Decision, Verdict
from flows.access_review.review import ReviewItem
from tasks.approvals.slack_blocks import escape, slack_date

KEEP_ACTION = "review-keep"
REVOKE_ACTION = "review-revoke"
ITEM_BLOCK_PREFIX = "review-item:"
ITEMS_PER_MESSAGE = 20

Blocks = list[dict[str, Any]]


def button_value(run_id: str, item: ReviewItem) -> str:
    """What a button carries: ``"<run_id>|<item_id>|<item_hash>"``."""
    return f"{run_id}|{item.id}|{item.hash}"


def parse_button_value(value: str) -> tuple[str, str, str] | None:
    """``(run_id, item_id, item_hash)``, or None if the value is not shaped like ours."""
    parts = value.split("|")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def item_text(item: ReviewItem) -> str:
    """One grant in mrkdwn: who, what, and its findings."""
    flags = f"\n:warning: {escape(', '.join(f.value for f in item.flags))}" if item.flags else ""
    return f"*{escape(item.subject)}*: {escape(item.grant)}{flags}"[:2900]


def item_blocks(run_id: str, item: ReviewItem) -> Blocks:
    """A grant and its two buttons."""
    value = button_value(run_id, item)
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": item_text(item)}},
        {
            "type": "actions",
            "block_id": f"{ITEM_BLOCK_PREFIX}{item.id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": KEEP_ACTION,
                    "style": "primary",
                    "value": value,
                    "text": {"type": "plain_text", "text": "Keep"},
                },
                {
                    "type": "button",
                    "action_id": REVOKE_ACTION,
                    "style": "danger",
                    "value": value,
                    "text": {"type": "plain_text", "text": "Revoke"},
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Revoke this grant?"},
                        "text": {
                            "type": "mrkdwn",
                            "text": f"Revoke {escape(item.grant)}? It goes through approval."[:300],
                        },
                        "confirm": {"type": "plain_text", "text": "Revoke"},
                        "deny": {"type": "plain_text", "text": "Cancel"},
                        "style": "danger",
                    },
                },
            ],
        },
    ]


def decided_block(item_id: str, decision: Decision) -> dict[str, Any]:
    """What replaces a grant's buttons once it is decided."""
    verb = "Kept" if decision.verdict is Verdict.KEEP else "Revoke requested"
    return {
        "type": "context",
        "block_id": f"{ITEM_BLOCK_PREFIX}{item_id}",
        "elements": [
            {
                "type": "mrkdwn",
                "text": f"{verb} by {escape(decision.by)} {slack_date(decision.at)}",
            }
        ],
    }


def review_messages(
    run_id: str, review_id: str, reviewer: str, items: list[ReviewItem], deadline: datetime
) -> list[tuple[str, Blocks]]:
    """A reviewer's messages: ``(fallback text, blocks)``, :data:`ITEMS_PER_MESSAGE` each."""
    chunks = [items[i : i + ITEMS_PER_MESSAGE] for i in range(0, len(items), ITEMS_PER_MESSAGE)]
    messages = []
    for number, chunk in enumerate(chunks, start=1):
        part = f" ({number}/{len(chunks)})" if len(chunks) > 1 else ""
        text = f"Access review {review_id}{part}: {len(items)} grant(s) for {reviewer} to review"
        blocks: Blocks = [
            {"type": "header", "text": {"type": "plain_text", "text": escape(text)[:150]}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Reviewer: {escape(reviewer)} · decide by "
                        f"{slack_date(deadline)} · you may not decide your own access",
                    }
                ],
            },
        ]
        for item in chunk:
            blocks.extend(item_blocks(run_id, item))
        messages.append((escape(text), blocks))
    return messages


def replace_item_block(blocks: Blocks, item_id: str, decision: Decision) -> Blocks:
    """The message's blocks with one grant's buttons replaced by its decision."""
    block_id = f"{ITEM_BLOCK_PREFIX}{item_id}"
    return [
        decided_block(item_id, decision) if b.get("block_id") == block_id else b for b in blocks
    ]


async def reviewer_channel(
    client: AsyncWebClient, email: str, fallback: str
) -> tuple[str, str | None]:
    """``(channel, slack user id)``: a DM with the reviewer, else the review channel.

    Slack finds people by email (``users.lookupByEmail``); a workspace or app without that
    method, or a reviewer not in Slack, gets their message in the review channel instead,
    addressed by email. Clicks are authorized the same way in both.
    """
    try:
        user = (await client.users_lookupByEmail(email=email))["user"]
        opened = await client.conversations_open(users=user["id"])
        return opened["channel"]["id"], user["id"]
    except SlackApiError as ex:
        get_run_logger().info(
            "no DM for reviewer %s (%s): posting in %s", email, ex.response.get("error"), fallback
        )
        return fallback, None


async def post_messages(
    client: AsyncWebClient, channel: str, messages: list[tuple[str, Blocks]]
) -> list[str]:
    """Post messages in order; returns their timestamps (rate limits are retried by the client)."""
    stamps = []
    for text, blocks in messages:
        response = await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        stamps.append(str(response["ts"]))
    return stamps
