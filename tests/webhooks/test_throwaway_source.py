"""Proof of docs/adding-a-webhook-source.md: the guide's Acme source, copied into one file
(webhooks/sources/acme.py), is served, configured, routed and signed with nothing else added."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app as cli_app
from cli.send_test_event import signed_request
from tests.fixtures.webhooks import WebhookServer, test_settings
from webhooks.settings import Settings
from webhooks.sources import SOURCES

SECRET = "acme-throwaway-secret-5e1f"
ROUTING = """
routes:
  - name: acme-leaver
    source: acme
    event_type: user.deactivated
    deployment: offboard-user/offboard-user
    parameters:
      spec:
        email: "{{ payload.user.email | lower }}"
        reason: "Acme {{ event.event_type }}"
"""


@pytest.fixture
def service(tmp_path: Path, prefect_harness: str) -> Any:
    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING)
    settings = test_settings(
        inbox_url=f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
        prefect_api_url=prefect_harness,
        routing_config=routing,
        forwarder_enabled=False,
        acme_secret=SECRET,
    )
    with WebhookServer(settings) as server:
        yield server


def test_the_source_is_discovered_with_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARIZE_RUNBOOKS_ACME_SECRET", SECRET)

    assert "acme" in SOURCES
    assert Settings().acme_secret.get_secret_value() == SECRET
    assert Settings(acme_secret=None).unconfigured_sources({"acme"}) == {
        "acme": "ARIZE_RUNBOOKS_ACME_SECRET"
    }


async def test_a_signed_acme_event_is_accepted_and_routed(service: Any) -> None:
    body, headers = signed_request(
        SOURCES["acme"], "Lee.Leaver@acme.example", "it@acme.example", service.settings
    )
    async with httpx.AsyncClient(base_url=service.base_url) as http:
        answer = await http.post("/webhooks/acme", content=body, headers=headers)
        again = await http.post("/webhooks/acme", content=body, headers=headers)
        forged = await http.post(
            "/webhooks/acme", content=body, headers={**headers, "x-hub-signature": "sha256=00"}
        )
        schema = (await http.get("/openapi.json")).json()

    assert answer.status_code == 202, answer.text
    [event] = answer.json()["events"]
    assert event["status"] == "pending" and event["deployment"] == "offboard-user/offboard-user"
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert forged.status_code == 401
    assert schema["paths"]["/webhooks/acme"]["post"]["summary"] == "Acme webhook delivery"


def test_send_test_event_signs_for_it(
    service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARIZE_RUNBOOKS_ACME_SECRET", SECRET)

    result = CliRunner().invoke(cli_app, [
        "send-test-event", "acme", "--email", "sam@acme.example", "--url", service.base_url,
    ])  # fmt: skip

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "accepted"


async def test_without_its_secret_it_is_switched_off_naming_the_variable(
    tmp_path: Path, prefect_harness: str
) -> None:
    settings = test_settings(
        inbox_url=f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
        prefect_api_url=prefect_harness,
        forwarder_enabled=False,
    )
    with WebhookServer(settings) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            answer = await http.post("/webhooks/acme", content=b"{}")

    assert answer.status_code == 404
    assert "set ARIZE_RUNBOOKS_ACME_SECRET" in answer.json()["detail"]
