"""The SlackApprovals block: client factory, policy, secrets (standard checks: tests/blocks)."""

from __future__ import annotations

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

from blocks.slack import SlackApprovals
from emulator.slack import SlackEmulatorServer
from tests.fixtures.slack import SLACK_BOT_TOKEN


def make_block(base_url: str | None = None, **overrides: object) -> SlackApprovals:
    fields: dict[str, object] = {
        "bot_token": SLACK_BOT_TOKEN,
        "channel": "#arize-approvals",
        "base_url": base_url,
    }
    fields.update(overrides)
    return SlackApprovals(**fields)


def test_the_token_stays_out_of_repr_and_dumps() -> None:
    block = make_block()
    for text in (repr(block), str(block), block.model_dump_json()):
        assert SLACK_BOT_TOKEN not in text


def test_the_signing_secret_lives_only_in_the_webhook_service() -> None:
    # Only the service verifies Slack's requests, so the block has no place for the secret: a
    # second copy could drift from the one that is actually used.
    assert "signing_secret" not in SlackApprovals.model_fields
    assert not hasattr(SlackApprovals, "get_verifier")


async def test_client_talks_to_base_url_with_rate_limit_retries(
    slack_emulator: SlackEmulatorServer,
) -> None:
    client = make_block(slack_emulator.base_url.rstrip("/")).get_client()
    assert client.base_url == slack_emulator.base_url
    assert any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in client.retry_handlers)
    slack_emulator.state.set_rate_limit(1, 0)
    assert (await client.auth_test())["ok"] is True
