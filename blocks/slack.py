"""The Slack app that asks for approvals: where to post, who may approve, how many must."""

from __future__ import annotations

from typing import Any

from prefect.blocks.abstract import CredentialsBlock
from pydantic import Field, SecretStr
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

# How often a rate-limited (429) call is retried after its Retry-After.
RATE_LIMIT_RETRIES = 3


def slack_web_client(token: str, base_url: str | None = None) -> AsyncWebClient:
    """An ``AsyncWebClient`` that retries connection errors and honours 429 ``Retry-After``.

    Args:
        token: The bot token (``xoxb-…``).
        base_url: Web API base URL; Slack's own by default, the emulator's in tests.

    Returns:
        A new client; it holds no open connection until used.
    """
    kwargs: dict[str, Any] = {}
    if base_url:
        kwargs["base_url"] = base_url if base_url.endswith("/") else f"{base_url}/"
    return AsyncWebClient(
        token=token,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
        **kwargs,
    )


class SlackApprovals(CredentialsBlock):
    """Slack app that posts approval requests for destructive runbook steps and verifies clicks.

    The approver policy here (group or allowlist, quorum, timeout, whether the requester may
    approve) is copied into every approval request when it is posted, so the click handler
    judges each click by the policy the request was asked under.

    Examples:
        Load the block and get a Slack client:
        ```python
        from blocks import SlackApprovals

        slack = SlackApprovals.load("BLOCK_NAME")
        client = slack.get_client()
        ```

        Post a gate's request from a flow:
        ```python
        from tasks.approvals.slack_messages import post_approval_request

        request = await post_approval_request(slack, request)
        ```
    """

    _block_type_name = "Slack Approvals"
    _block_type_slug = "slack-approvals"
    _logo_url = "https://cdn.sanity.io/images/3ugk85nk/production/c1965ecbf8704ee1ea20d77786de9a41ce1087d1-500x500.png"
    _documentation_url = "https://docs.slack.dev/interactivity/handling-user-interaction"

    bot_token: SecretStr = Field(
        description="Bot user OAuth token (xoxb-…) with chat:write, usergroups:read, "
        "users:read and users:read.email scopes.",
    )
    signing_secret: SecretStr = Field(
        description="The Slack app's signing secret, used to verify button clicks.",
    )
    channel: str = Field(
        description="Channel id or name where approval requests are posted.",
        examples=["#arize-approvals", "C0123456789"],
    )
    approver_group: str | None = Field(
        default=None,
        description="Slack user group (id like S0123 or handle) whose members may approve.",
    )
    approver_ids: list[str] = Field(
        default_factory=list,
        title="Approver IDs",
        description="Slack user ids who may approve, in addition to the group.",
    )
    quorum: int = Field(default=1, ge=1, description="How many distinct approvals a request needs.")
    timeout_seconds: int = Field(
        default=3600,
        gt=0,
        description="How long a request waits for a decision; no decision means rejected.",
    )
    allow_requester: bool = Field(
        default=False,
        description="Whether the person who asked for the run may approve it.",
    )
    base_url: str | None = Field(
        default=None,
        title="Base URL",
        description="Web API base URL override, e.g. the emulator's http://127.0.0.1:PORT/api/.",
    )

    def get_client(self) -> AsyncWebClient:
        """A new Slack ``AsyncWebClient`` with connection and rate-limit retries attached.

        Returns:
            The client.
        """
        return slack_web_client(self.bot_token.get_secret_value(), self.base_url)

    def get_verifier(self) -> SignatureVerifier:
        """A verifier of Slack's request signatures under this app's signing secret.

        Returns:
            The verifier.
        """
        return SignatureVerifier(self.signing_secret.get_secret_value())

    def policy_fields(self) -> dict[str, Any]:
        """The approver policy as :class:`tasks.approvals.models.ApprovalRequest` fields.

        Returns:
            ``approver_group``, ``approver_ids``, ``quorum``, ``timeout_seconds``,
            ``allow_requester`` and ``channel``.
        """
        return {
            "approver_group": self.approver_group,
            "approver_ids": list(self.approver_ids),
            "quorum": self.quorum,
            "timeout_seconds": self.timeout_seconds,
            "allow_requester": self.allow_requester,
            "channel": self.channel,
        }
