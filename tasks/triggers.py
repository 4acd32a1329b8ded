"""What started a runbook run: recorded on the run and shown in its report and approval message."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class TriggerSource(StrEnum):
    """Where a run came from."""

    MANUAL = "manual"
    SCHEDULE = "schedule"
    OKTA = "okta"
    BAMBOOHR = "bamboohr"
    JIRA = "jira"
    SERVICENOW = "servicenow"
    GENERIC = "generic"
    CLI = "cli"


class Trigger(BaseModel):
    """Who or what asked for this run.

    Webhook-started runs carry the source and the sender's event id; ticket runs the ticket key;
    manual runs the person, if known.
    """

    source: TriggerSource = Field(
        default=TriggerSource.MANUAL, description="What started the run."
    )
    event_id: str | None = Field(
        default=None, description="The sender's event or delivery id, for webhook-started runs."
    )
    ticket: str | None = Field(
        default=None, description="Ticket key (Jira issue, ServiceNow number), if any."
    )
    requested_by: str | None = Field(
        default=None,
        description="Email or Slack user id of the person who asked; they may not approve it.",
    )

    def describe(self) -> str:
        """One line for reports and approval messages."""
        parts = [self.source.value]
        if self.event_id:
            parts.append(f"event {self.event_id}")
        if self.ticket:
            parts.append(f"ticket {self.ticket}")
        if self.requested_by:
            parts.append(f"requested by {self.requested_by}")
        return ", ".join(parts)
