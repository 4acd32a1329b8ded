"""How runbooks run: which account, who approves, where new keys go, how fast to go."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import AliasChoices, Field

from blocks.arize import ArizeCredentials
from blocks.key_store import ArizeKeyStore
from blocks.schema_cache import SchemaCached
from blocks.slack import SlackApprovals
from core.approvals.rules import ApprovalPolicy


class RunbookPolicy(SchemaCached, Block):
    """Everything a runbook needs besides its spec, saved once per environment.

    Without ``slack`` the gate is answered from the Prefect UI's resume form or
    ``arize-runbooks approve|reject RUN_ID``; either way ``approval`` decides whose answers
    count, and the flow checks them against it before applying anything.

    Examples:
        ```python
        from blocks import RunbookPolicy

        policy = RunbookPolicy.load("BLOCK_NAME")
        ```
    """

    _block_type_name = "Arize Runbook Policy"
    _block_type_slug = "arize-runbook-policy"
    _documentation_url = "https://docs.prefect.io/v3/concepts/blocks"

    credentials: ArizeCredentials = Field(description="The Arize account to administer.")
    # Called ``approvals`` until it was confused with ``approval`` (the rules): policies saved
    # under the old name still load.
    slack: SlackApprovals | None = Field(
        default=None,
        validation_alias=AliasChoices("slack", "approvals"),
        description="The Slack app that asks for approvals; none means Prefect UI and CLI only.",
    )
    key_store: ArizeKeyStore = Field(
        default_factory=ArizeKeyStore, description="Where new API key values are stored."
    )
    approval: ApprovalPolicy = Field(
        default_factory=ApprovalPolicy,
        description="Who may approve destructive steps, how many must, through which paths.",
    )
    poll_interval_seconds: int = Field(
        default=5, ge=1, description="How often a paused local run checks for an answer."
    )
    max_parallel: int = Field(
        default=8, ge=1, le=64, description="Steps of one stage that run at the same time."
    )
    rate_limit: str | None = Field(
        default="arize-api",
        description="Prefect global concurrency limit (with slot decay) shared by all workers.",
    )
