"""The approval message in Block Kit: asked, voting, decided, expired. Pure functions, no I/O.

Everything shown comes from the :class:`~core.approvals.requests.ApprovalRequest`, which holds
no secret; user text is escaped for mrkdwn and anything shaped like a Slack token is redacted
anyway. Button values carry only ``"<run_id>|<gate>|<plan_hash>"``; the handler looks the rest
up on the flow run and authorizes the clicker there, never from the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.approvals.requests import ApprovalRequest

APPROVE_ACTION = "approve"
REJECT_ACTION = "reject"
ACTIONS_BLOCK_PREFIX = "approval"

_MAX_LISTED_CHANGES = 15
_MAX_SECTION = 2900  # Slack's limit is 3000 characters per section text.
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_TOKENISH = re.compile(r"\b(xox[abposr]|xapp)-[A-Za-z0-9-]+")

Blocks = list[dict[str, Any]]


@dataclass(frozen=True)
class SlackMessage:
    """A message body: fallback ``text`` (notifications, screen readers) and ``blocks``."""

    text: str
    blocks: Blocks


def button_value(request: ApprovalRequest) -> str:
    """What a button carries: ``"<run_id>|<gate>|<plan_hash>"``, nothing else."""
    return f"{request.run_id}|{request.gate}|{request.plan_hash}"


def parse_button_value(value: str) -> tuple[str, str, str] | None:
    """``(run_id, gate, plan_hash)`` from a button value, or ``None`` if it is not ours."""
    parts = value.split("|")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def actions_block_id(request: ApprovalRequest, version: int) -> str:
    """A ``block_id`` new for every iteration of the message, as Slack asks."""
    return f"{ACTIONS_BLOCK_PREFIX}:{request.plan_hash[:12]}:v{version}"


def redact(text: str) -> str:
    """Replace anything shaped like a Slack token with ``[redacted]``."""
    return _TOKENISH.sub("[redacted]", text)


def escape(text: str) -> str:
    """Escape mrkdwn control characters and redact anything shaped like a Slack token."""
    text = redact(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(who: str) -> str:
    """``<@U…>`` for a Slack user id, the escaped text otherwise (email, name)."""
    return f"<@{who}>" if _SLACK_ID.match(who) else escape(who)


def slack_date(at: datetime) -> str:
    """A date Slack shows in each reader's time zone, with an ISO fallback."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at.isoformat()}>"


def short_hash(plan_hash: str) -> str:
    """The first 12 characters of a plan hash, as shown in messages."""
    return plan_hash[:12]


def counts_line(request: ApprovalRequest) -> str:
    """``"delete user: 1, revoke api key: 2"``; the number of changes if no counts."""
    if request.counts:
        return ", ".join(
            f"{escape(kind.replace('_', ' '))}: {n}" for kind, n in sorted(request.counts.items())
        )
    return f"{len(request.destructive)} change(s)"


#: The header of each state of the message: open, then how it was decided.
HEADER_OPEN = "Approval needed"
HEADER_APPROVED = "Approved"
HEADER_REJECTED = "Rejected"
HEADER_EXPIRED = "Expired (rejected)"


def _summary(request: ApprovalRequest, header: str = HEADER_OPEN) -> Blocks:
    fields = [
        f"*Runbook*\n{escape(request.runbook)}",
        f"*Subject*\n{escape(request.subject)}",
        f"*Triggered by*\n{escape(request.trigger)}",
        f"*Plan hash*\n`{short_hash(request.plan_hash)}`",
    ]
    if request.requested_by:
        fields.append(f"*Requested by*\n{mention(request.requested_by)}")
    if request.held:
        fields.append("*Approvals needed*\nbreak-glass only (`approve --break-glass`)")
    elif request.quorum > 1:
        fields.append(f"*Approvals needed*\n{request.quorum}")
    listed = [f"• {escape(change)}" for change in request.destructive[:_MAX_LISTED_CHANGES]]
    hidden = len(request.destructive) - len(listed)
    if hidden > 0:
        listed.append(f"…and {hidden} more (see the flow run)")
    changes = f"*Destructive changes ({counts_line(request)}):*\n" + "\n".join(listed)
    if len(changes) > _MAX_SECTION:
        changes = changes[: _MAX_SECTION - 1] + "…"
    context = [f"Times out {slack_date(request.expires_at)} — no decision means rejected"]
    if request.flow_run_url:
        context.append(f"<{request.flow_run_url}|Open the flow run>")
    held = (
        [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f":rotating_light: *HELD*: {escape(request.held)}"[:_MAX_SECTION],
                },
            }
        ]
        if request.held
        else []
    )
    return [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": redact(f"{header}: {request.runbook}")[:150],
            },
        },
        # Slack caps each field at 2000 characters.
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f[:2000]} for f in fields]},
        *held,
        {"type": "section", "text": {"type": "mrkdwn", "text": changes}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": " · ".join(context)}],
        },
    ]


def _fallback(request: ApprovalRequest, prefix: str) -> str:
    return (
        f"{prefix}: {escape(request.runbook)} on {escape(request.subject)} "
        f"({counts_line(request)}; plan {short_hash(request.plan_hash)})"
    )


def _buttons(request: ApprovalRequest, version: int) -> dict[str, Any]:
    value = button_value(request)
    return {
        "type": "actions",
        "block_id": actions_block_id(request, version),
        "elements": [
            {
                "type": "button",
                "action_id": APPROVE_ACTION,
                "style": "primary",
                "value": value,
                "text": {"type": "plain_text", "text": "Approve", "emoji": True},
                "confirm": {
                    "title": {"type": "plain_text", "text": "Apply these changes?"},
                    "text": {
                        "type": "mrkdwn",
                        "text": (f"Approve {counts_line(request)} on {escape(request.subject)}?")[
                            :300
                        ],
                    },
                    "confirm": {"type": "plain_text", "text": "Approve"},
                    "deny": {"type": "plain_text", "text": "Cancel"},
                    "style": "danger",
                },
            },
            {
                "type": "button",
                "action_id": REJECT_ACTION,
                "style": "danger",
                "value": value,
                "text": {"type": "plain_text", "text": "Reject", "emoji": True},
            },
        ],
    }


def request_message(
    request: ApprovalRequest, *, approvals: list[str] | None = None, version: int = 1
) -> SlackMessage:
    """The open request: summary, votes so far, Approve (with confirm) and Reject.

    Args:
        request: What is asked.
        approvals: Who has approved so far (quorum > 1).
        version: The message iteration, for a fresh ``block_id``.

    Returns:
        The message.
    """
    blocks = _summary(request)
    if approvals:
        who = ", ".join(mention(a) for a in approvals)
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"Approvals so far: {len(approvals)} of {request.quorum} ({who})",
                },
            }
        )
    blocks.append(_buttons(request, version))
    return SlackMessage(text=_fallback(request, HEADER_OPEN), blocks=blocks)


def decided_message(
    request: ApprovalRequest,
    *,
    approved: bool,
    decided_by: str,
    approvers: list[str],
    at: datetime,
) -> SlackMessage:
    """The request after its decision: no buttons, the verdict, who and when.

    Args:
        request: What was asked.
        approved: The decision.
        decided_by: Who cast the deciding vote (Slack id, email or name).
        approvers: Everyone whose approval counted.
        at: When.

    Returns:
        The message.
    """
    if approved:
        others = [a for a in approvers if a != decided_by]
        extra = f" (with {', '.join(mention(a) for a in others)})" if others else ""
        verdict = f":white_check_mark: *Approved* by {mention(decided_by)}{extra}"
    else:
        verdict = f":x: *Rejected* by {mention(decided_by)}; nothing will be changed"
    word = HEADER_APPROVED if approved else HEADER_REJECTED
    blocks = _summary(request, word)
    blocks.append(
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{verdict} — {slack_date(at)}"}}
    )
    return SlackMessage(text=_fallback(request, word), blocks=blocks)


def expired_message(request: ApprovalRequest, *, at: datetime) -> SlackMessage:
    """The request after its timeout: no buttons, rejected, nothing changed.

    Args:
        request: What was asked.
        at: When it was found expired.

    Returns:
        The message.
    """
    blocks = _summary(request, HEADER_EXPIRED)
    blocks.append(
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    ":hourglass: *Expired* without a decision — treated as rejected; nothing "
                    f"was changed — {slack_date(at)}"
                ),
            },
        }
    )
    return SlackMessage(text=_fallback(request, HEADER_EXPIRED), blocks=blocks)
