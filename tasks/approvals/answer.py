"""What resumes a waiting gate, as Prefect's resume form (a ``RunInput``)."""

from __future__ import annotations

from prefect.input import RunInput
from pydantic import Field


class ApprovalAnswer(RunInput):
    """What resumes a waiting gate: the Prefect UI's resume form, the CLI and Slack send it.

    It is a claim, not a decision: the flow records a form answer as a UI vote from
    ``approver`` (refused unless the policy allows UI votes), and decides only on the durable
    votes. Slack and CLI voters record their vote first and then resume with this.
    """

    approved: bool = Field(description="True to approve the plan, false to reject it.")
    approver: str = Field(
        min_length=1, description="Your e-mail: the approver identity the policy checks."
    )
    comment: str = Field(default="", description="Why, for the audit record.")
