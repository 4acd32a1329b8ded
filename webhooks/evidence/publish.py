"""Publish the verified chain head where the admins cannot edit it: a Slack channel, a file.

Deleting the newest rows of the chain breaks no link; only a head published earlier shows it
(``evidence verify --head SEQ:HASH``). The service publishes daily when
``ARIZE_RUNBOOKS_EVIDENCE_HEAD_CHANNEL`` or ``..._FILE`` is set; ``evidence publish-head``
does the same once, by hand or from cron.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from blocks.slack import slack_web_client
from core.evidence import ChainCheck
from webhooks.evidence.export import verify
from webhooks.inbox import Inbox
from webhooks.settings import Settings

logger = logging.getLogger("webhooks.evidence")


def head_text(check: ChainCheck, at: datetime) -> str:
    """The published line."""
    if not check.ok:
        return f"Evidence chain {at:%Y-%m-%d %H:%M} UTC: NOT VERIFIED — {check.describe()}"
    return (
        f"Evidence chain head {at:%Y-%m-%d %H:%M} UTC: row {check.last_seq}, hash "
        f"{check.last_hash or '-'}; {check.count} record(s) verified"
    )


async def publish_head(
    engine: AsyncEngine,
    *,
    slack: AsyncWebClient | None = None,
    channel: str | None = None,
    file: Path | None = None,
) -> ChainCheck:
    """Verify the chain and publish its head to ``channel`` and/or ``file``."""
    check = await verify(engine)
    at = datetime.now(UTC)
    text = head_text(check, at)
    if slack is not None and channel:
        await slack.chat_postMessage(channel=channel, text=text)
    if file is not None:
        line = json.dumps(
            {"at": at.isoformat(), "seq": check.last_seq, "hash": check.last_hash,
             "verified": check.ok, "problem": None if check.ok else check.reason}
        )

        def append() -> None:
            file.parent.mkdir(parents=True, exist_ok=True)
            with file.open("a") as out:
                out.write(line + "\n")

        await asyncio.to_thread(append)
    return check


async def publish_daily(
    engine: AsyncEngine,
    every_hours: float,
    *,
    slack: AsyncWebClient | None,
    channel: str | None,
    file: Path | None,
) -> None:
    """Publish the head every ``every_hours``, forever; a failed publish is retried next time."""
    while True:
        try:
            check = await publish_head(engine, slack=slack, channel=channel, file=file)
            logger.info("published the evidence chain head: %s", check.describe())
        except Exception:  # the loop must outlive Slack or a full disk
            logger.warning("publishing the evidence chain head failed", exc_info=True)
        await asyncio.sleep(every_hours * 3600)


def start_daily(settings: Settings, inbox: Inbox) -> asyncio.Task[None]:
    """Start :func:`publish_daily` for the service (Slack through its bot token, if set)."""
    slack = None
    token = settings.slack_bot_token
    if settings.evidence_head_channel and token is not None:
        slack = slack_web_client(token.get_secret_value(), settings.slack_base_url)
    return asyncio.create_task(
        publish_daily(
            inbox.engine,
            settings.evidence_head_every_hours,
            slack=slack,
            channel=settings.evidence_head_channel,
            file=settings.evidence_head_file,
        ),
        name="evidence-head-publisher",
    )
