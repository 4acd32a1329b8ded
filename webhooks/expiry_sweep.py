"""The expiry sweep: marks the approval messages of gates that timed out with no flow code left
to do it, and records their expiry as evidence.

A suspended run that times out is failed by Prefect's server; no flow code runs, so its Slack
message would keep its buttons and no evidence would say the changes it asked for expired. The
service runs :meth:`ExpirySweep.forever` in its lifespan (every
``ARIZE_RUNBOOKS_SLACK_EXPIRY_SWEEP_SECONDS``). Replicas may all sweep: a message is updated to
the same text, and the evidence records have stable ids, so a second sweep adds nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.actions import ArtifactCreate
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterEndTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.approvals.requests import ApprovalRequest
from core.evidence.expired import expired_request_records
from tasks.approvals.slack_blocks import expired_message
from tasks.approvals.store import claim_expiry, unanswered_requests
from tasks.reporting.report import expired_report, report_key
from webhooks.evidence.store import EvidenceStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExpirySweep:
    """Finds failed runs with a stored, unanswered, past-expiry request and closes each once.

    Args:
        prefect: Factory of (unopened) Prefect clients.
        slack: Factory of Slack clients with the bot token.
        evidence: Where the expiry records go.
        clock: Now, in UTC.
    """

    prefect: Callable[[], PrefectClient]
    slack: Callable[[], AsyncWebClient]
    evidence: EvidenceStore
    clock: Callable[[], datetime]

    def __repr__(self) -> str:  # the Slack factory holds the bot token
        return "ExpirySweep()"

    async def once(self, *, since: datetime | None = None, limit: int = 200) -> int:
        """One sweep of the runs that ended after ``since`` (all failed runs by default), at
        most ``limit``, newest first; the number of requests marked expired."""
        marked = await self._mark_messages(since=since, limit=limit)
        records = [record for request in marked for record in expired_request_records(request)]
        if records:
            # Stable record ids: a replica that swept the same request appends nothing new.
            await self.evidence.append(records)
        if marked:
            logger.info("marked %d expired approval message(s)", len(marked))
        return len(marked)

    async def forever(self, every: float) -> None:
        """:meth:`once`, every ``every`` seconds, until cancelled."""
        while True:
            try:
                await self.once()
            except Exception:  # a failed sweep must not end the loop; the next one retries
                logger.warning("expiry sweep failed", exc_info=True)
            await asyncio.sleep(every)

    async def _mark_messages(self, *, since: datetime | None, limit: int) -> list[ApprovalRequest]:
        now = self.clock()
        slack = self.slack()
        marked: list[ApprovalRequest] = []
        async with self.prefect() as prefect:
            runs = await prefect.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.FAILED])),
                    end_time=FlowRunFilterEndTime(after_=since) if since else None,
                ),
                sort=FlowRunSort.END_TIME_DESC,
                limit=limit,
            )
            for run in runs:
                for request in await unanswered_requests(prefect, run.id):
                    if request.expires_at > now or not request.message_ts or not request.channel:
                        continue
                    message = expired_message(request, at=now)
                    try:
                        await slack.chat_update(
                            channel=request.channel,
                            ts=request.message_ts,
                            text=message.text,
                            blocks=message.blocks,
                        )
                    except SlackApiError as ex:
                        logger.warning(
                            "Could not mark run %s gate %s expired: %s",
                            request.run_id,
                            request.gate,
                            ex.response.get("error"),
                        )
                        continue
                    if await claim_expiry(prefect, request.run_id, request.gate):
                        await prefect.create_artifact(
                            ArtifactCreate(
                                key=report_key(request.runbook, request.subject),
                                type="markdown",
                                data=expired_report(request),
                                description=f"{request.runbook} expired for {request.subject}",
                                flow_run_id=run.id,
                            )
                        )
                    marked.append(request)
        return marked
