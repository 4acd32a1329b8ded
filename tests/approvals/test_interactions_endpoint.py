"""``POST /slack/interactions``: only fresh, Slack-signed requests get in; others change nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import get_client

from emulator.slack import SlackEmulatorServer
from emulator.slack.interactions import SignedRequest, sign_payload
from tasks.approvals.store import read_votes
from tests.approvals.conftest import ALICE, INTERACTIONS, GatedRun, send
from tests.fixtures.slack import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET
from webhooks.app import create_app
from webhooks.settings import Settings


def _tampered(request: SignedRequest, **headers: str | None) -> SignedRequest:
    merged = {k: v for k, v in {**request.headers, **headers}.items() if v is not None}
    return SignedRequest(body=request.body, headers=merged)


@pytest.mark.slow
async def test_bad_signatures_are_refused_and_change_nothing(
    gated_run: Callable[..., GatedRun],
    service: Callable[[], Any],
    slack_emulator: SlackEmulatorServer,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    run = gated_run()
    await run.paused()
    good = run.click(ALICE)
    old = run.click(ALICE, timestamp=int(time.time()) - 301)
    bad = [
        _tampered(good, **{"X-Slack-Signature": None, "X-Slack-Request-Timestamp": None}),
        _tampered(good, **{"X-Slack-Signature": None}),
        _tampered(good, **{"X-Slack-Signature": "v0=" + "0" * 64}),
        run.click(ALICE, signing_secret="not-the-signing-secret"),
        old,  # replayed: signed correctly, but more than 5 minutes ago
        _tampered(good, **{"X-Slack-Request-Timestamp": "yesterday"}),
        SignedRequest(body=good.body + b"&x=1", headers=good.headers),
    ]
    before = run.message()
    async with service() as client:
        for request in bad:
            response = await send(client, request)
            assert response.status_code == 401
            assert response.json() == {"detail": "invalid or missing signature"}
    assert run.message() == before
    assert slack_emulator.messages()["ephemerals"] == []
    async with get_client() as prefect:
        assert await read_votes(prefect, run.run_id, run.gate) == []
    assert (await run.state_now()).state.is_paused()
    assert good.headers["X-Slack-Signature"] not in debug_logs.text
    assert "payload" not in debug_logs.text
    # The same click, correctly signed and fresh, goes through.
    async with service() as client:
        assert (await send(client, good)).status_code == 200
    assert (await (await run.finished()).result())["approver"] == ALICE


def _app(slack_emulator: SlackEmulatorServer, tmp_path: Any, **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "environment": "test",
        "slack_signing_secret": SLACK_SIGNING_SECRET,
        "slack_bot_token": SLACK_BOT_TOKEN,
        "slack_base_url": slack_emulator.base_url,
        "forwarder_enabled": False,
        "inbox_url": f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
    }
    fields.update(overrides)
    return create_app(Settings(**fields))


async def test_not_configured_is_404(slack_emulator: SlackEmulatorServer, tmp_path: Any) -> None:
    app = _app(slack_emulator, tmp_path, slack_signing_secret=None)
    request = sign_payload({"type": "block_actions"}, signing_secret=SLACK_SIGNING_SECRET)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        response = await client.post(INTERACTIONS, content=request.body, headers=request.headers)
    assert response.status_code == 404


async def test_other_interactions_are_acknowledged_and_ignored(
    slack_emulator: SlackEmulatorServer, tmp_path: Any
) -> None:
    app = _app(slack_emulator, tmp_path)
    payloads = [
        {"type": "view_submission", "user": {"id": ALICE}},
        {
            "type": "block_actions",
            "user": {"id": ALICE},
            "actions": [{"action_id": "approve", "value": "not|ours"}],
        },
    ]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        for payload in payloads:
            request = sign_payload(payload, signing_secret=SLACK_SIGNING_SECRET)
            response = await send(client, request)
            assert response.status_code == 200
    assert slack_emulator.messages() == {"messages": [], "ephemerals": []}
    assert sum(slack_emulator.state.calls.values()) == 0


async def test_signed_body_without_payload_is_400(
    slack_emulator: SlackEmulatorServer, tmp_path: Any
) -> None:
    from slack_sdk.signature import SignatureVerifier

    app = _app(slack_emulator, tmp_path)
    body = b"command=%2Fapprove"
    ts = str(int(time.time()))
    signature = SignatureVerifier(SLACK_SIGNING_SECRET).generate_signature(timestamp=ts, body=body)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature or "",
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        response = await client.post(INTERACTIONS, content=body, headers=headers)
    assert response.status_code == 400


@pytest.mark.slow
async def test_demo_path_through_a_real_service(
    gated_run: Callable[..., GatedRun],
    slack_emulator: SlackEmulatorServer,
    prefect_harness: str,
    tmp_path: Any,
) -> None:
    """uvicorn + lifespan (shared Prefect client) + the emulator's own click helper."""
    from tests.fixtures.webhooks import WebhookServer

    settings = Settings(
        environment="test",
        slack_signing_secret=SLACK_SIGNING_SECRET,
        slack_bot_token=SLACK_BOT_TOKEN,
        slack_base_url=slack_emulator.base_url,
        prefect_api_url=prefect_harness,
        forwarder_enabled=False,
        inbox_url=f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
    )
    run = gated_run()
    await run.paused()
    with WebhookServer(settings) as server:
        response = await asyncio.to_thread(
            slack_emulator.click,
            f"{server.base_url}/slack/interactions",
            signing_secret=SLACK_SIGNING_SECRET,
            user_id=ALICE,
            ts=run.ts,
        )
        assert response.status_code == 200
        decision = await (await run.finished()).result()
        # The service updates the message in the background, after the resume.
        for _ in range(200):
            if "Approved* by <@U0ALICE>" in str(run.message()["blocks"]):
                break
            await asyncio.sleep(0.05)
        assert "Approved* by <@U0ALICE>" in str(run.message()["blocks"])
    assert decision["approver"] == ALICE
