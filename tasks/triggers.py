"""What started a runbook run: recorded on the run and shown in its report and approval message."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, GetCoreSchemaHandler, model_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import core_schema

from core.evidence import TriggerEvidence
from core.service_key import ENV_VAR, ServiceKeyMissing, service_key, sign, verify

#: Why a trigger was not believed: no signature, a wrong one, or no key here to check it with.
Unverified = Literal["unsigned", "forged", "no-key"]


class TriggerSource(str):
    """Where a run came from: an open name, checked for shape only.

    The origins inside the project are named here (:attr:`MANUAL`, :attr:`SCHEDULE`,
    :attr:`CLI`, :attr:`SLACK`); every other name is a webhook source's (``okta``, ...), which
    the webhook service lists in ``webhooks/sources/``. The core needs no list of them: a run
    is from a webhook unless it is from one of the local origins.

    Raises:
        ValueError: the name is empty, too long, or not lower-case letters, digits, ``-``, ``_``.
    """

    MANUAL: ClassVar[str] = "manual"
    SCHEDULE: ClassVar[str] = "schedule"
    CLI: ClassVar[str] = "cli"
    #: The Slack app (access requests): from outside, like a webhook.
    SLACK: ClassVar[str] = "slack"

    _SHAPE: ClassVar[re.Pattern[str]] = re.compile(r"[a-z][a-z0-9_-]{0,63}")

    def __new__(cls, name: str) -> TriggerSource:
        if not isinstance(name, str) or not cls._SHAPE.fullmatch(name):
            raise ValueError(
                f"trigger source {str(name)[:70]!r} is not a source name: lower-case letters, "
                "digits, '-' or '_', starting with a letter, at most 64 characters"
            )
        return super().__new__(cls, name)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls, core_schema.str_schema(), serialization=core_schema.to_string_ser_schema()
        )


#: Origins inside the project; every other source is from outside (a webhook or Slack), and its
#: destructive runs count towards the storm limit.
LOCAL_SOURCES = frozenset({TriggerSource.MANUAL, TriggerSource.SCHEDULE, TriggerSource.CLI})


class Trigger(BaseModel):
    """Who or what asked for this run.

    Webhook-started runs carry the source and the sender's event id; ticket runs the ticket key;
    manual runs the person, if known.
    """

    source: TriggerSource = Field(
        default=TriggerSource(TriggerSource.MANUAL),
        description="What started the run: manual, schedule, cli, slack or a webhook source.",
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
    signature: str | None = Field(
        default=None, description="The webhook service's HMAC over the fields above."
    )
    unverified_claim: str | None = Field(
        default=None,
        description="A trigger the run was given that the service did not sign, in words.",
    )

    unverified_reason: Unverified | None = Field(
        default=None,
        description="Why the claim was not believed: unsigned, forged, or no key to check it.",
    )

    @model_validator(mode="after")
    def _reason_of_the_claim(self) -> Trigger:
        # Judged in the process that holds the claim (the worker's flow run): without a key
        # there, nothing could have been verified, whoever sent it.
        if self.unverified_claim and self.unverified_reason is None:
            self.unverified_reason = "no-key" if service_key() is None else "unsigned"
        return self

    def _signed_fields(self) -> dict[str, str | None]:
        fields = {"source", "event_id", "ticket", "requested_by"}
        return self.model_dump(mode="json", include=fields)

    def signed(self) -> Trigger:
        """This trigger signed with the service key; unsigned if no key is configured."""
        try:
            return self.model_copy(update={"signature": sign("trigger", self._signed_fields())})
        except ServiceKeyMissing:
            return self

    def is_verified(self) -> bool:
        """Whether the webhook service signed exactly these fields."""
        return verify("trigger", self._signed_fields(), self.signature)

    def verification_problem(self) -> Unverified | None:
        """Why :meth:`is_verified` is false (``None`` when it is true)."""
        if service_key() is None:
            return "no-key"
        if not self.signature:
            return "unsigned"
        return None if self.is_verified() else "forged"

    claimed_requester: str | None = Field(
        default=None, description="The requester an unsigned trigger claimed, if any."
    )

    @property
    def from_webhook(self) -> bool:
        """Whether the run was started, or claims to be started, by a webhook."""
        return self.source not in LOCAL_SOURCES or bool(self.unverified_claim)

    def evidence(self) -> TriggerEvidence:
        """The trigger as an evidence record holds it: where from, and whether it was signed."""
        return TriggerEvidence(
            source=str(self.source),
            event_id=self.event_id,
            ticket=self.ticket,
            signed=self.signature is not None and self.is_verified(),
        )

    def describe(self) -> str:
        """One line for reports and approval messages."""
        parts = [str(self.source)]
        if self.event_id:
            parts.append(f"event {self.event_id}")
        if self.ticket:
            parts.append(f"ticket {self.ticket}")
        if self.requested_by:
            parts.append(f"requested by {self.requested_by}")
        if self.unverified_claim:
            if self.unverified_reason == "no-key":
                parts.append(
                    f"could not verify the trigger it was given ({self.unverified_claim}): "
                    f"{ENV_VAR} is not set on the worker"
                )
            else:
                kind = "a forged" if self.unverified_reason == "forged" else "an unsigned"
                parts.append(f"ignored {kind} trigger claiming: {self.unverified_claim}")
        return ", ".join(parts)


#: The ``trigger`` parameter of every runbook flow. Left out of the parameter schema, so the
#: Prefect UI's run form does not offer it; the webhook service passes it, signed.
TriggerParam = Annotated[SkipJsonSchema[Trigger | None], Field(default=None)]


def claimed_requesters(trigger: Trigger) -> list[str]:
    """Everyone the run's trigger names as requester, verified or not: none of them may approve."""
    return [r for r in (trigger.requested_by, trigger.claimed_requester) if r]
