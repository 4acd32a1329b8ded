"""Each source, end to end over loopback: a signed real-shaped delivery starts exactly one run
with the right parameters; tampered, unsigned, stale, oversize and malformed ones are refused
with the right status and start nothing."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import PrefectClient

from tests.fixtures.webhooks import (
    BAMBOOHR_SECRET,
    JIRA_SECRET,
    OKTA_SECRET,
    SERVICENOW_PASSWORD,
    SERVICENOW_TOKEN,
    SERVICENOW_USER,
    WebhookServer,
)
from tests.webhooks.conftest import (
    Sender,
    bamboohr_termination,
    eventually,
    jira_issue_created,
    okta_event,
    okta_hook,
    runs_for,
    signed_by_the_service,
    uid,
)
from webhooks.inbox import Inbox
from webhooks.inbox_records import EventStatus
from webhooks.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.slow


@pytest.fixture
async def inbox(webhook_settings: Settings) -> AsyncIterator[Inbox]:
    """A second handle on the service's inbox, in the test's event loop."""
    async with Inbox(webhook_settings.inbox_url) as handle:
        yield handle


async def one_run(client: PrefectClient, event_id: str) -> Any:
    """Wait until the event's run exists; assert it is the only one."""
    runs = await eventually(lambda: runs_for(client, {event_id}))
    assert len(runs) == 1, runs
    return runs[0]


# --- Okta ------------------------------------------------------------------------------------


async def test_okta_verification_challenge(send: Sender) -> None:
    response = await send.http.get(
        "/webhooks/okta", headers={"X-Okta-Verification-Challenge": "a1b2c3-challenge"}
    )
    assert response.status_code == 200
    assert response.json() == {"verification": "a1b2c3-challenge"}

    missing = await send.http.get("/webhooks/okta")
    assert missing.status_code == 400
    assert "X-Okta-Verification-Challenge" in missing.json()["detail"]


async def test_okta_deactivate_starts_one_offboard_run(
    send: Sender, prefect_client: PrefectClient, inbox: Inbox
) -> None:
    event = okta_event("user.lifecycle.deactivate", email="Lee.Leaver@acme.example")
    hook = okta_hook(event)

    response = await send.okta(hook)

    assert response.status_code == 200
    receipt = response.json()
    assert receipt["status"] == "accepted"
    assert receipt["events"][0]["event_id"] == event["uuid"]
    assert receipt["events"][0]["deployment"] == "offboard-user/offboard-user"
    run = await one_run(prefect_client, event["uuid"])
    assert run.idempotency_key == f"okta:{event['uuid']}"
    assert signed_by_the_service(run.parameters) == {
        "spec": {
            "email": "lee.leaver@acme.example",
            "reason": "Okta user.lifecycle.deactivate: Deactivate Okta user",
        },
        "dry_run": False,
        "trigger": {
            "source": "okta",
            "event_id": event["uuid"],
            "ticket": None,
            "requested_by": "admin@acme.example",
        },
    }
    stored = await eventually(lambda: _forwarded(inbox, "okta", event["uuid"]), within=10)
    assert stored.flow_run_id == str(run.id)
    assert stored.delivery_id == hook["eventId"]

    again = await send.okta(hook)  # Okta's at-least-once redelivery
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert len(await runs_for(prefect_client, {event["uuid"]})) == 1


async def _forwarded(inbox: Inbox, source: str, event_id: str) -> Any:
    event = await inbox.find(source, event_id)
    return event if event is not None and event.status is EventStatus.FORWARDED else None


async def test_okta_batch_is_split_per_event(send: Sender, prefect_client: PrefectClient) -> None:
    suspend = okta_event("user.lifecycle.suspend", email="sam@acme.example")
    group_add = okta_event(
        "group.user_membership.add",
        email="dana@acme.example",
        extra_targets=[
            {
                "id": "00g1",
                "type": "UserGroup",
                "alternateId": "unknown",
                "displayName": "arize-fraud-detection",
            }
        ],
    )
    response = await send.okta(okta_hook(suspend, group_add))
    assert response.status_code == 200
    assert [e["deployment"] for e in response.json()["events"]] == [
        "offboard-user/offboard-user",
        "onboard-team/onboard-team",
    ]
    offboard = await one_run(prefect_client, suspend["uuid"])
    onboard = await one_run(prefect_client, group_add["uuid"])
    assert offboard.parameters["spec"]["email"] == "sam@acme.example"
    assert onboard.parameters["spec"] == {
        "organization": "Acme",
        "space": "fraud-detection",
        "members": [{"name": "Lee Leaver", "email": "dana@acme.example", "space_role": "MEMBER"}],
    }


# --- BambooHR --------------------------------------------------------------------------------


async def test_bamboohr_termination_starts_one_offboard_run(
    send: Sender, prefect_client: PrefectClient
) -> None:
    employee = uid("4")
    response = await send.bamboohr(bamboohr_termination(employee, "Lee.Leaver@acme.example"))
    assert response.status_code == 202, response.text
    event_id = response.json()["events"][0]["event_id"]
    assert event_id.startswith(f"{employee}:updated:")

    run = await one_run(prefect_client, event_id)
    assert run.parameters["spec"] == {
        "email": "lee.leaver@acme.example",
        "reason": f"BambooHR: employee {employee} terminated",
        "ticket": f"bamboohr-{employee}",
    }
    assert run.parameters["trigger"]["source"] == "bamboohr"

    # BambooHR re-signs a retry with a new timestamp; the derived id is the same.
    again = await send.bamboohr(bamboohr_termination(employee, "Lee.Leaver@acme.example"))
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"


# --- Jira ------------------------------------------------------------------------------------


async def test_jira_onboarding_issue_starts_one_onboard_run(
    send: Sender, prefect_client: PrefectClient
) -> None:
    key = f"IT-{uid()}"
    identifier = uid("jira-")
    body = jira_issue_created(
        key,
        fields={
            "customfield_10050": "Acme",
            "customfield_10051": "fraud-ops",
            "customfield_10052": [
                {
                    "accountId": "a1",
                    "displayName": "Dana Data",
                    "emailAddress": "dana@acme.example",
                },
                {
                    "accountId": "a2",
                    "displayName": "Riley Reviewer",
                    "emailAddress": "Riley@acme.example",
                },
            ],
            "customfield_10053": {"value": "MEMBER"},
        },
    )
    response = await send.jira(body, identifier=identifier)
    assert response.status_code == 202, response.text

    run = await one_run(prefect_client, identifier)
    assert signed_by_the_service(run.parameters) == {
        "spec": {
            "organization": "Acme",
            "space": "fraud-ops",
            "space_description": f"{key}: New team: Fraud Ops",
            "members": [
                {"name": "Dana Data", "email": "dana@acme.example", "space_role": "MEMBER"},
                {"name": "Riley Reviewer", "email": "riley@acme.example", "space_role": "MEMBER"},
            ],
        },
        "dry_run": False,
        "trigger": {
            "source": "jira",
            "event_id": identifier,
            "ticket": key,
            "requested_by": "pat@acme.example",
        },
    }


async def test_jira_restrict_project_issue(send: Sender, prefect_client: PrefectClient) -> None:
    identifier = uid("jira-")
    body = jira_issue_created(
        f"IT-{uid()}",
        issue_type="Restrict Project",
        fields={
            "customfield_10051": "fraud-detection",
            "customfield_10054": "fraud-model",
            "customfield_10055": [
                {"displayName": "Dana Data", "emailAddress": "dana@acme.example"}
            ],
        },
    )
    response = await send.jira(body, identifier=identifier)
    assert response.status_code == 202
    run = await one_run(prefect_client, identifier)
    assert run.parameters["spec"] == {
        "space": "fraud-detection",
        "project": "fraud-model",
        "allowed": [{"email": "dana@acme.example", "role": "Project Viewer"}],
    }


async def test_jira_retry_with_same_identifier_is_a_duplicate(
    send: Sender, prefect_client: PrefectClient
) -> None:
    identifier = uid("jira-")
    body = jira_issue_created(f"IT-{uid()}", fields={"customfield_10051": "s"})
    first = await send.jira(body, identifier=identifier)
    retry = await send.jira(body, identifier=identifier, **{"X-Atlassian-Webhook-Retry": "1"})
    assert (first.status_code, retry.status_code) == (202, 200)
    assert retry.json()["status"] == "duplicate"
    await one_run(prefect_client, identifier)


# --- ServiceNow / JSM ------------------------------------------------------------------------


def catalog_request(event_id: str, item: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_type": "catalog_request",
        "event_id": event_id,
        "number": "RITM0010042",
        "sys_id": event_id,
        "cat_item": item,
        "opened_by": "hr.partner@acme.example",
        "variables": variables,
    }


async def test_servicenow_offboarding_request_bearer(
    send: Sender, prefect_client: PrefectClient
) -> None:
    event_id = uid("sys-")
    body = catalog_request(
        event_id, "Arize offboarding", {"user_email": "Lee.Leaver@acme.example", "reason": "Left"}
    )
    response = await send.servicenow(body)
    assert response.status_code == 202, response.text
    run = await one_run(prefect_client, event_id)
    assert signed_by_the_service(run.parameters) == {
        "spec": {"email": "lee.leaver@acme.example", "reason": "Left", "ticket": "RITM0010042"},
        "dry_run": False,
        "trigger": {
            "source": "servicenow",
            "event_id": event_id,
            "ticket": "RITM0010042",
            "requested_by": "hr.partner@acme.example",
        },
    }


async def test_servicenow_onboarding_request_basic_auth(
    send: Sender, prefect_client: PrefectClient
) -> None:
    event_id = uid("sys-")
    body = catalog_request(
        event_id,
        "Arize team onboarding",
        {
            "organization": "Acme",
            "space": "search-ops",
            "members": [{"name": "Sam Scientist", "email": "sam@acme.example"}],
        },
    )
    basic = base64.b64encode(f"{SERVICENOW_USER}:{SERVICENOW_PASSWORD}".encode()).decode()
    response = await send.servicenow(body, Authorization=f"Basic {basic}")
    assert response.status_code == 202, response.text
    run = await one_run(prefect_client, event_id)
    assert run.parameters["spec"]["members"] == [
        {"name": "Sam Scientist", "email": "sam@acme.example", "space_role": "MEMBER"}
    ]


# --- Generic (Standard Webhooks) -------------------------------------------------------------


async def test_generic_event_type_picks_the_runbook(
    send: Sender, prefect_client: PrefectClient
) -> None:
    msg_id = uid("msg_")
    body = {
        "type": "runbook.rotate-service-keys",
        "timestamp": "2026-11-26T09:00:00Z",
        "data": {
            "spec": {"name_pattern": "ci-*", "max_age_days": 30},
            "dry_run": True,
            "requested_by": "pat@acme.example",
        },
    }
    response = await send.generic(body, msg_id=msg_id)
    assert response.status_code == 202, response.text
    run = await one_run(prefect_client, msg_id)
    assert run.idempotency_key == f"generic:{msg_id}"
    assert signed_by_the_service(run.parameters) == {
        "spec": {"name_pattern": "ci-*", "max_age_days": 30},
        "dry_run": True,
        "trigger": {
            "source": "generic",
            "event_id": msg_id,
            "ticket": None,
            "requested_by": "pat@acme.example",
        },
    }


# --- refusals --------------------------------------------------------------------------------

STALE = int(time.time()) - 3600


def _refusals() -> list[Any]:
    """(source, how to send, expected status) for every way a delivery is refused."""
    ok_okta = okta_hook(okta_event())
    ok_bamboo = bamboohr_termination("77", "x@acme.example")
    ok_jira = jira_issue_created("IT-1")
    ok_sn = catalog_request("sys-x", "Arize offboarding", {"user_email": "x@acme.example"})
    ok_generic = {"type": "runbook.offboard-user", "data": {"spec": {"reason": "r"}}}
    big = {"type": "runbook.offboard-user", "data": {"pad": "x" * 300_000}}
    cases = [
        ("okta-wrong-secret", "okta", ok_okta, {"Authorization": "not-the-secret"}, 401),
        ("okta-no-auth", "okta", ok_okta, {"Authorization": ""}, 401),
        ("okta-not-json", "okta", b'{"data": ', {}, 400),
        ("okta-wrong-shape", "okta", {"data": {"events": [{"uuid": 1}]}}, {}, 422),
        ("okta-not-object", "okta", [1, 2], {}, 422),
        ("okta-oversize", "okta", big, {}, 413),
        ("bamboohr-wrong-sig", "bamboohr", ok_bamboo, {"X-BambooHR-Signature": "00" * 32}, 401),
        ("bamboohr-no-sig", "bamboohr", ok_bamboo, {"X-BambooHR-Signature": ""}, 401),
        ("bamboohr-no-ts", "bamboohr", ok_bamboo, {"X-BambooHR-Timestamp": ""}, 401),
        ("bamboohr-stale", "bamboohr", ok_bamboo, {"stale": STALE}, 401),
        ("bamboohr-wrong-shape", "bamboohr", {"type": "employee.updated"}, {}, 422),
        ("bamboohr-not-json", "bamboohr", b"\xff\xfe", {}, 400),
        ("bamboohr-oversize", "bamboohr", big, {}, 413),
        ("jira-wrong-sig", "jira", ok_jira, {"X-Hub-Signature": "sha256=" + "0" * 64}, 401),
        ("jira-sha1", "jira", ok_jira, {"X-Hub-Signature": "sha1=abc"}, 401),
        ("jira-no-sig", "jira", ok_jira, {"X-Hub-Signature": ""}, 401),
        ("jira-no-identifier", "jira", ok_jira, {"X-Atlassian-Webhook-Identifier": ""}, 400),
        ("jira-wrong-shape", "jira", {"issue": {}}, {}, 422),
        ("jira-not-json", "jira", b"<xml/>", {}, 400),
        ("jira-oversize", "jira", big, {}, 413),
        ("servicenow-wrong-token", "servicenow", ok_sn, {"Authorization": "Bearer nope"}, 401),
        ("servicenow-no-auth", "servicenow", ok_sn, {"Authorization": ""}, 401),
        (
            "servicenow-wrong-basic",
            "servicenow",
            ok_sn,
            {"Authorization": "Basic Zm9vOmJhcg=="},
            401,
        ),
        ("servicenow-wrong-shape", "servicenow", {"event_type": 5}, {}, 422),
        ("servicenow-nan", "servicenow", b'{"event_type": NaN}', {}, 400),
        ("servicenow-empty", "servicenow", b"", {}, 400),
        ("generic-wrong-sig", "generic", ok_generic, {"webhook-signature": "v1,AAAA"}, 401),
        ("generic-no-sig", "generic", ok_generic, {"webhook-signature": ""}, 401),
        ("generic-no-id", "generic", ok_generic, {"webhook-id": ""}, 401),
        ("generic-stale", "generic", ok_generic, {"stale": STALE}, 401),
        ("generic-bad-ts", "generic", ok_generic, {"webhook-timestamp": "yesterday"}, 401),
        ("generic-no-type", "generic", {"data": {}}, {}, 422),
        ("generic-deep", "generic", b"[" * 100_000 + b"]" * 100_000, {}, 400),
        ("generic-oversize", "generic", big, {}, 413),
    ]
    return [pytest.param(*case[1:], id=case[0]) for case in cases]


async def _signed(
    send: Sender, source: str, body: Any, tamper: dict[str, Any]
) -> tuple[httpx.Response, str]:
    """Sign ``body`` correctly for ``source``, then apply ``tamper`` to the headers."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    tamper = dict(tamper)
    stale = tamper.pop("stale", None)
    marker = uid("refused-")
    if source == "okta":
        headers = {"Authorization": OKTA_SECRET, "Content-Type": "application/json"}
    elif source == "bamboohr":
        headers = send.bamboohr_headers(raw, timestamp=stale)
    elif source == "jira":
        headers = send.jira_headers(raw, identifier=marker)
    elif source == "servicenow":
        headers = {"Authorization": f"Bearer {SERVICENOW_TOKEN}", "Idempotency-Key": marker}
    else:
        headers = send.generic_headers(raw, msg_id=marker, timestamp=stale)
    headers.update(tamper)
    headers = {k: v for k, v in headers.items() if v != ""}
    response = await send.http.post(f"/webhooks/{source}", content=raw, headers=headers)
    return response, marker


@pytest.mark.parametrize(("source", "body", "tamper", "status"), _refusals())
async def test_refused_deliveries_start_nothing(
    send: Sender,
    inbox: Inbox,
    prefect_client: PrefectClient,
    source: str,
    body: Any,
    tamper: dict[str, Any],
    status: int,
) -> None:
    before = await inbox.counts()

    response, marker = await _signed(send, source, body, tamper)

    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    if status == 401:
        assert detail == "invalid or missing signature"  # nothing about why
    assert await inbox.counts() == before
    assert await inbox.find(source, marker) is None
    assert await runs_for(prefect_client, {marker}) == []


async def test_unconfigured_source_is_404(tmp_path: Any, prefect_harness: str) -> None:
    settings = Settings(
        environment="test",
        inbox_url=f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
        prefect_api_url=prefect_harness,
        forwarder_enabled=False,
    )
    with WebhookServer(settings) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            for source, variable in (
                ("okta", "ARIZE_RUNBOOKS_OKTA_SECRET"),
                ("bamboohr", "ARIZE_RUNBOOKS_BAMBOOHR_SECRET"),
                ("jira", "ARIZE_RUNBOOKS_JIRA_SECRET"),
                ("servicenow", "ARIZE_RUNBOOKS_SERVICENOW_TOKEN"),
                ("generic", "ARIZE_RUNBOOKS_GENERIC_SECRET"),
            ):
                response = await http.post(f"/webhooks/{source}", content=b"{}")
                assert response.status_code == 404, source
                detail = response.json()["detail"]
                # Old main: "the okta source is not configured", naming nothing to set.
                assert f"the {source} source is not configured: set {variable}" in detail
            slack = await http.post("/slack/interactions", content=b"payload=%7B%7D")
            assert slack.status_code == 404
            assert "ARIZE_RUNBOOKS_SLACK_SIGNING_SECRET" in slack.json()["detail"]
            health = await http.get("/health")
            assert health.status_code == 200
            assert health.json() == {"status": "ok", "forwarder": "disabled"}


async def test_readyz_names_what_is_missing_and_publishes_only_a_fingerprint(
    tmp_path: Any, prefect_harness: str
) -> None:
    from config.settings import fingerprint

    routing = tmp_path / "routing.yaml"
    routing.write_text((EXAMPLES / "routing-okta.yaml").read_text())
    settings = Settings(
        environment="test",
        inbox_url=f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
        prefect_api_url=prefect_harness,
        forwarder_enabled=False,
        routing_config=routing,
        slack_bot_token="xoxb-half-configured-0001",
    )
    assert settings.service_key is not None
    with WebhookServer(settings) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            response = await http.get("/readyz")

    assert response.status_code == 503  # old main: 200 "ready"
    body = response.json()
    config = body["checks"]["configuration"]
    assert config["status"] == "down"
    assert "ARIZE_RUNBOOKS_OKTA_SECRET is not set" in config["error"]
    assert "ARIZE_RUNBOOKS_SLACK_SIGNING_SECRET is not set" in config["error"]
    assert body["service_key_fingerprint"] == fingerprint(settings.service_key)
    assert settings.service_key.get_secret_value() not in response.text


async def test_chunked_oversize_body_is_413(send: Sender) -> None:
    """No Content-Length to trust: the bytes read are counted."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 10_000

    response = await send.http.post(
        "/webhooks/okta", content=chunks(), headers={"Authorization": OKTA_SECRET}
    )
    assert response.status_code == 413


async def test_the_readme_curl_examples_are_signed_as_the_service_checks(
    webhook_service: WebhookServer,
) -> None:
    readme = (EXAMPLES.parent / "README.md").read_text()
    found = re.search(r"<!-- curl-examples.*?```sh\n(.*?)```", readme, re.S)
    assert found, "README lost its curl examples"
    script = found[1].replace("http://127.0.0.1:8787", webhook_service.base_url)
    env = {
        **os.environ,
        "ARIZE_RUNBOOKS_OKTA_SECRET": OKTA_SECRET,
        "ARIZE_RUNBOOKS_BAMBOOHR_SECRET": BAMBOOHR_SECRET,
        "ARIZE_RUNBOOKS_JIRA_SECRET": JIRA_SECRET,
        "ARIZE_RUNBOOKS_SERVICENOW_TOKEN": SERVICENOW_TOKEN,
    }

    # curl -f fails on any 4xx/5xx: a wrong signature (401) stops the script.
    done = await asyncio.to_thread(
        subprocess.run, ["bash", "-euo", "pipefail", "-c", script], env=env,
        capture_output=True, text=True, timeout=120,
    )

    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.count('{"status":') == 4, done.stdout  # one receipt per example
