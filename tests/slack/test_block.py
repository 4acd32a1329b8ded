"""The SlackApprovals block: standard block suite, client factory, policy, secrets."""

from __future__ import annotations

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

from blocks.slack import SlackApprovals
from emulator.slack import SlackEmulatorServer
from tests.fixtures.slack import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET


class TestSlackApprovalsStandards(BlockStandardTestSuite):
    @pytest.fixture
    def block(self) -> type[Block]:
        return SlackApprovals

    @pytest.mark.skip(reason="downloads the logo; no internet in tests")
    def test_has_a_valid_image(self, block: type[Block]) -> None:
        pass


def make_block(base_url: str | None = None, **overrides: object) -> SlackApprovals:
    fields: dict[str, object] = {
        "bot_token": SLACK_BOT_TOKEN,
        "signing_secret": SLACK_SIGNING_SECRET,
        "channel": "#arize-approvals",
        "approver_group": "S0APPROVERS",
        "approver_ids": ["U0CAROL"],
        "quorum": 2,
        "timeout_seconds": 600,
        "base_url": base_url,
    }
    fields.update(overrides)
    return SlackApprovals(**fields)


def test_secrets_stay_out_of_repr_and_dumps() -> None:
    block = make_block()
    for text in (repr(block), str(block), block.model_dump_json()):
        assert SLACK_BOT_TOKEN not in text
        assert SLACK_SIGNING_SECRET not in text


def test_quorum_must_be_positive() -> None:
    with pytest.raises(ValueError, match="quorum"):
        make_block(quorum=0)


def test_policy_fields() -> None:
    assert make_block().policy_fields() == {
        "approver_group": "S0APPROVERS",
        "approver_ids": ["U0CAROL"],
        "quorum": 2,
        "timeout_seconds": 600,
        "allow_requester": False,
        "channel": "#arize-approvals",
    }


def test_verifier_uses_the_signing_secret() -> None:
    verifier = make_block().get_verifier()
    signature = verifier.generate_signature(timestamp="1", body=b"x")
    assert signature and signature.startswith("v0=")


async def test_client_talks_to_base_url_with_rate_limit_retries(
    slack_emulator: SlackEmulatorServer,
) -> None:
    client = make_block(slack_emulator.base_url.rstrip("/")).get_client()
    assert client.base_url == slack_emulator.base_url
    assert any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in client.retry_handlers)
    slack_emulator.state.set_rate_limit(1, 0)
    assert (await client.auth_test())["ok"] is True
