"""Resolve the policy's approvers through Slack: the approver group's members, ids and e-mails.

The flow and the click handler both resolve the directory here, so a person's membership is
read the same way on every path. Without Slack the directory is the policy's own lists.
"""

from __future__ import annotations

import logging
import re

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.slack import SlackApprovals
from core.approvals.rules import ApprovalPolicy, Directory

logger = logging.getLogger(__name__)

_USERGROUP_ID = re.compile(r"^S[A-Z0-9]+$")


async def group_members(slack: AsyncWebClient, group: str) -> set[str]:
    """Slack user ids in ``group`` (an id like ``S0123`` or a handle); empty if it is unknown."""
    group_id = group
    if not _USERGROUP_ID.match(group):
        handle = group.lstrip("@")
        groups = (await slack.usergroups_list())["usergroups"]
        found = [g["id"] for g in groups if g.get("handle") == handle]
        if not found:
            logger.warning("Approver group %s not found in Slack", group)
            return set()
        group_id = found[0]
    try:
        return set((await slack.usergroups_users_list(usergroup=group_id))["users"])
    except SlackApiError as ex:
        if ex.response.get("error") == "no_such_subteam":
            logger.warning("Approver group %s not found in Slack", group)
            return set()
        raise


async def user_email(slack: AsyncWebClient, user_id: str) -> str | None:
    """The e-mail on a Slack user's profile, lower-cased; ``None`` if hidden or unknown."""
    try:
        user = (await slack.users_info(user=user_id))["user"]
    except SlackApiError as ex:
        if ex.response.get("error") == "user_not_found":
            return None
        raise
    return ((user.get("profile") or {}).get("email") or "").lower() or None


async def resolve_directory(
    policy: ApprovalPolicy, slack: SlackApprovals | AsyncWebClient | None
) -> Directory:
    """The permitted approvers of ``policy``: its lists plus the Slack group's ids and e-mails.

    Args:
        policy: The approval policy.
        slack: The Slack app (or a client of it); ``None`` when Slack is not configured.

    Returns:
        The directory.
    """
    if slack is None:
        return Directory.of(policy, slack_configured=False)
    client = slack.get_client() if isinstance(slack, SlackApprovals) else slack
    members: set[str] = set()
    if policy.approver_group:
        ids = await group_members(client, policy.approver_group)
        members |= ids
        for user_id in ids:
            email = await user_email(client, user_id)
            if email:
                members.add(email)
    return Directory.of(policy, members, slack_configured=True)
