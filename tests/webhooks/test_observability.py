"""``/healthz``, ``/readyz`` and ``/metrics`` on both inbox backends, and ``inbox stats``
printing the same figures."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app as cli_app
from tests.fixtures.webhooks import WebhookServer, test_settings
from tests.webhooks.backends import free_port
from tests.webhooks.conftest import Samples, Sender, eventually, figure, samples, uid

# Slack whole (token beside the fixture's signing secret), as `serve` insists.
SLACK_BOT_TOKEN = "xoxb-observability-test-token"

pytestmark = pytest.mark.slow


def _offboard(event_type: str = "runbook.offboard-user") -> dict[str, Any]:
    spec = {"email": f"{uid()}@acme.example", "reason": "metrics test"}
    return {"type": event_type, "data": {"spec": spec}}


async def _metrics(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_metrics_and_stats_follow_events_as_they_arrive(
    inbox_url: str, prefect_harness: str, runbook_deployments: dict[str, Any]
) -> None:
    settings = test_settings(inbox_url=inbox_url, prefect_api_url=prefect_harness,
                             slack_bot_token=SLACK_BOT_TOKEN)
    with WebhookServer(settings) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {
                "inbox": {"status": "ok", "error": None},
                "prefect": {"status": "ok", "error": None},
                "configuration": {"status": "ok", "error": None},
            }

            before = await _metrics(http)
            delivered = figure(
                before, "arize_webhook_deliveries_total", source="generic", status="202"
            )
            assert delivered == 0
            assert figure(before, "arize_webhook_inbox_depth") == 0
            assert figure(before, "arize_webhook_inbox_up") == 1

            sender = Sender(http)
            for _ in range(3):
                assert (await sender.generic(_offboard(), msg_id=uid("msg_"))).status_code == 202
            unroutable = await sender.generic(_offboard("runbook.nope"), msg_id=uid("msg_"))
            assert unroutable.status_code == 202
            forged = await sender.generic(
                _offboard(), msg_id=uid("msg_"), **{"webhook-signature": "v1,Zm9yZ2Vk"}
            )
            assert forged.status_code == 401

            async def forwarded_three() -> dict[Any, float] | None:
                figures = await _metrics(http)
                done = figure(figures, "arize_webhook_forward_attempts_total", outcome="forwarded")
                # The attempt is counted as it succeeds; the inbox's row is marked a commit
                # later (its gauges read the database): wait for both, not for a moment.
                stored = figure(
                    figures, "arize_webhook_inbox_events", source="generic", status="forwarded"
                )
                return figures if done >= 3 and stored >= 3 else None

            after = await eventually(forwarded_three, within=60, interval=0.3)
    assert figure(after, "arize_webhook_deliveries_total", source="generic", status="202") == 4
    assert figure(after, "arize_webhook_deliveries_total", source="generic", status="401") == 1
    assert figure(after, "arize_webhook_dead_letters") == 1
    assert figure(after, "arize_webhook_inbox_events", source="generic", status="dead") == 1
    assert figure(after, "arize_webhook_inbox_events", source="generic", status="forwarded") == 3
    assert figure(after, "arize_webhook_inbox_depth") == 0
    assert figure(after, "arize_webhook_forward_lag_seconds_count") == 3
    assert figure(after, "arize_webhook_ack_seconds_count", source="generic") == 5

    result = await asyncio.to_thread(
        CliRunner().invoke, cli_app, ["inbox", "stats", "-o", "json", "--inbox-url", inbox_url]
    )
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["forwarded"] == 3 and stats["dead"] == 1 and stats["depth"] == 0
    assert stats["by_source_status"] == {"generic": {"forwarded": 3, "dead": 1}}
    # Every attempt this (only) forwarder made is in the rows; the unroutable one never was.
    attempted = sum(
        value
        for (name, _), value in after.items()
        if name == "arize_webhook_forward_attempts_total"
    )
    assert stats["forward_attempts"] == attempted >= 3
    table = await asyncio.to_thread(
        CliRunner().invoke, cli_app, ["inbox", "stats", "--inbox-url", inbox_url]
    )
    assert table.exit_code == 0 and "dead letters" in table.output


async def test_readyz_names_prefect_when_it_is_down(inbox_url: str) -> None:
    settings = test_settings(
        inbox_url=inbox_url,
        prefect_api_url=f"http://127.0.0.1:{free_port()}/api",
        forwarder_enabled=False,
        slack_bot_token=SLACK_BOT_TOKEN,  # Slack whole: only Prefect is down
    )
    with WebhookServer(settings) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            assert (await http.get("/healthz")).status_code == 200  # alive all the same
            ready = await http.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["detail"] == "down: prefect"
    assert body["checks"]["inbox"]["status"] == "ok"
    assert body["checks"]["prefect"]["status"] == "down"
