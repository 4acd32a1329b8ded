"""The Slack app that asks for approvals: where to post, who may approve, how many must."""

from __future__ import annotations

from typing import Any

from prefect.blocks.abstract import CredentialsBlock
from pydantic import Field, SecretStr
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from blocks.schema_cache import SchemaCached

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


class SlackApprovals(SchemaCached, CredentialsBlock):
    """The Slack app that posts approval requests for destructive runbook steps.

    Who may approve, and how many must, is the runbook policy's ``approval``
    (:class:`core.approvals.rules.ApprovalPolicy`), the same for Slack, the CLI and the UI.
    The app's signing secret is not here: only the webhook service verifies Slack's requests,
    so it alone holds the secret (``ARIZE_RUNBOOKS_SLACK_SIGNING_SECRET``).

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
    channel: str = Field(
        description="Channel id or name where approval requests are posted.",
        examples=["#arize-approvals", "C0123456789"],
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
