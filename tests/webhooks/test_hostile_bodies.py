"""Hostile bodies over real HTTP to the service, on a SQLite and on a PostgreSQL inbox, with
the forwarder on and the stand-in deployments in Prefect.

The corpus: NUL in values, keys, event ids and event types; lone surrogates as ``\\ud800``
escapes and as raw ``ED A0 80`` bytes; 900-deep nesting; a 10,000-event batch under the size
cap; UTF-16 bodies; wrong content types. Each is stored (losslessly) or refused with a 4xx,
never a 5xx; the good leaver event in the same delivery or the same group commit survives;
``/readyz`` stays ready and no 503 is counted; no payload reaches the log.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import PrefectClient

from tests.fixtures.services import (
    PG_HOST,
    PG_PORT,
    _reachable,
    create_database,
    drop_database,
    postgres_dsn,
    unavailable,
)
from tests.fixtures.webhooks import OKTA_SECRET, WebhookServer, test_settings
from tests.webhooks.conftest import (
    Sender,
    eventually,
    jira_issue_created,
    okta_event,
    okta_hook,
    runs_for,
    uid,
)
from webhooks import pgtext
from webhooks.inbox import Inbox
from webhooks.inbox_records import EventStatus, InboxEvent

pytestmark = pytest.mark.slow

#: A 10,000-event Okta batch is about 400 KB; the cap is set just above it for this service.
_CAP = 512 * 1024


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hostile_service(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    prefect_harness: str,
    runbook_deployments: dict[str, Any],
) -> Iterator[tuple[WebhookServer, str]]:
    """The service on each backend in turn (forwarder on); yields it and its inbox URL."""
    database: str | None = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('hostile') / 'inbox.db'}"
    else:
        problem = _reachable(PG_HOST, PG_PORT)
        if problem:
            unavailable("PostgreSQL", problem)
        database = create_database()
        url = postgres_dsn(database).replace("postgresql://", "postgresql+asyncpg://")
    settings = test_settings(inbox_url=url, prefect_api_url=prefect_harness, max_body_bytes=_CAP)
    try:
        with WebhookServer(settings) as server:
            yield server, url
    finally:
        if database is not None:
            drop_database(database)


@pytest.fixture
async def http(hostile_service: tuple[WebhookServer, str]) -> Any:
    server, _ = hostile_service
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as client:
        yield client


async def _stored(url: str, event_id: str, source: str = "okta") -> InboxEvent | None:
    async with Inbox(url, migrate=False) as inbox:
        return await inbox.find(source, pgtext.escape_id(event_id))


def _parse(raw: bytes) -> Any:
    """The body as the service parses it (raw lone surrogates kept)."""
    return json.loads(raw.decode(json.detect_encoding(raw), "surrogatepass"))


def _leaver(email: str | None = None) -> dict[str, Any]:
    return okta_event(email=email or f"{uid('good-')}@acme.example")


# Each case: how to spoil an Okta event, as a replacement in the raw JSON text.
HOSTILE: dict[str, tuple[str, bytes]] = {
    "nul in a value": ("displayMessage", b'"displayMessage": "Deactivate \\u0000 user"'),
    "nul in a key": ("severity", b'"sev\\u0000erity": "INFO"'),
    "nul in the event id": ("uuid", b'"uuid": "ev-\\u0000-UUID"'),
    "nul in the event type": ("eventType", b'"eventType": "user.lifecycle.deactivate\\u0000"'),
    "lone surrogate escape": ("displayMessage", b'"displayMessage": "Deactivate \\ud800 user"'),
    "lone surrogate raw bytes": ("displayMessage", b'"displayMessage": "Deactivate \xed\xa0\x80"'),
}


def _spoil(event: dict[str, Any], field: str, replacement: bytes) -> bytes:
    """``event`` as raw JSON with its ``field`` member replaced by ``replacement``."""
    raw = json.dumps(event).encode()
    member = json.dumps({field: event[field]}).encode()[1:-1]
    assert member in raw
    return raw.replace(member, replacement.replace(b"UUID", uuid.uuid4().hex.encode()), 1)


def _delivery(*raw_events: bytes) -> bytes:
    envelope = okta_hook()
    envelope["data"]["events"] = ["@@EVENT@@"] * len(raw_events)
    text = json.dumps(envelope).encode()
    for raw in raw_events:
        text = text.replace(b'"@@EVENT@@"', raw, 1)
    return text


async def _okta(
    http: httpx.AsyncClient, raw: bytes, content_type: str = "application/json"
) -> httpx.Response:
    headers = {"Authorization": OKTA_SECRET, "Content-Type": content_type}
    return await http.post("/webhooks/okta", content=raw, headers=headers)


async def _no_503_and_ready(http: httpx.AsyncClient) -> None:
    # The inbox check only: Prefect's may time out on a loaded machine, and is not ours.
    ready = (await http.get("/readyz")).json()
    assert ready["checks"]["inbox"] == {"status": "ok", "error": None}, ready
    metrics = (await http.get("/metrics")).text
    assert not re.search(r'arize_webhook_deliveries_total\{[^}]*status="5\d\d"', metrics), [
        line for line in metrics.splitlines() if 'status="5' in line
    ]


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_a_hostile_event_is_stored_losslessly_beside_the_good_leaver(
    hostile_service: tuple[WebhookServer, str], http: httpx.AsyncClient, case: str
) -> None:
    _, url = hostile_service
    field, replacement = HOSTILE[case]
    hostile = _spoil(okta_event(), field, replacement)
    good = _leaver()
    raw = _delivery(hostile, json.dumps(good).encode())
    response = await _okta(http, raw)
    assert response.status_code == 200, response.text
    assert [e["status"] for e in response.json()["events"]] == ["pending", "pending"] or (
        case == "nul in the event type"  # no route matches a type with a NUL: dead, stored
        and [e["status"] for e in response.json()["events"]] == ["dead", "pending"]
    ), response.json()

    sent = _parse(raw)["data"]["events"]
    stored_hostile = await _stored(url, sent[0]["uuid"])
    assert stored_hostile is not None and stored_hostile.payload == sent[0]
    assert pgtext.unescape_id(stored_hostile.event_type) == sent[0]["eventType"]
    stored_good = await _stored(url, good["uuid"])
    assert stored_good is not None and stored_good.deployment == "offboard-user/offboard-user"

    again = await _okta(http, raw)  # Okta's retry: both are duplicates, nothing doubled
    assert again.status_code == 200
    assert [e["status"] for e in again.json()["events"]] == ["duplicate", "duplicate"]
    await _no_503_and_ready(http)


async def test_concurrent_good_and_hostile_deliveries_are_all_acknowledged(
    hostile_service: tuple[WebhookServer, str],
    http: httpx.AsyncClient,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    """40 good deliveries and 12 hostile ones at once share group commits: every one is
    stored and acknowledged, and no payload (a marker in each) reaches the log."""
    _, url = hostile_service
    marker = f"PAYLOAD-MARKER-{uid()}"
    goods = [json.dumps(okta_hook(_leaver())).encode() for _ in range(40)]
    hostiles = []
    for index in range(12):
        field, replacement = list(HOSTILE.values())[index % len(HOSTILE)]
        event = {"aMarker": marker, **okta_event()}
        hostiles.append(_delivery(_spoil(event, field, replacement)))
    codes = await asyncio.gather(*(_okta(http, raw) for raw in goods + hostiles))
    assert [r.status_code for r in codes] == [200] * len(codes), [r.text for r in codes]
    for raw in goods:
        event = _parse(raw)["data"]["events"][0]
        assert await _stored(url, event["uuid"]) is not None
    assert marker not in debug_logs.text
    await _no_503_and_ready(http)


async def test_900_deep_nesting_is_stored_and_read_back_or_refused_with_a_4xx(
    hostile_service: tuple[WebhookServer, str], http: httpx.AsyncClient
) -> None:
    """A leaver event carrying 900 levels of nesting, beside a good leaver: answered without
    a 5xx; both stored, and a forwarder's claim (the same read the service's forwarder
    makes) decodes the deep one as sent."""
    _, url = hostile_service
    deep = _leaver()
    deep_raw = json.dumps(deep).encode()[:-1] + b', "deep": ' + b"[" * 900 + b"]" * 900 + b"}"
    good = _leaver()
    response = await _okta(http, _delivery(deep_raw, json.dumps(good).encode()))
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        return  # refused, with the reason in the answer
    assert response.status_code == 200
    stored_deep, stored_good = await _stored(url, deep["uuid"]), await _stored(url, good["uuid"])
    assert stored_deep is not None and stored_good is not None
    async with Inbox(url, migrate=False) as inbox:
        claimed: list[InboxEvent] = []
        for _ in range(5):
            await inbox.replay([stored_deep.id])  # pending again, whatever the forwarder did
            # The service's own forwarder polls this inbox too and can take the event between
            # the replay and this claim: a claim an hour on steps over the forwarder's lease,
            # and if the forwarder already finished the event, it is replayed again.
            later = datetime.now(UTC) + timedelta(hours=1)
            claimed = await inbox.claim(
                "test-reader", ids=[stored_deep.id], lease_seconds=1, now=later
            )
            if claimed:
                break
    assert [event.payload for event in claimed] == [_parse(deep_raw)]
    await _no_503_and_ready(http)


async def _runs(client: PrefectClient, ids: set[str], want: int) -> list[Any] | None:
    runs = await runs_for(client, ids)
    return runs if len(runs) >= want else None


async def test_a_10000_event_batch_under_the_cap_is_stored_with_its_poisoned_event(
    hostile_service: tuple[WebhookServer, str], http: httpx.AsyncClient
) -> None:
    _, url = hostile_service
    events = [{"uuid": f"b{i}-{uid()}", "eventType": "x.y"} for i in range(9_998)]
    good = _leaver()
    poisoned = _spoil(okta_event(), *HOSTILE["nul in the event id"])
    raw = _delivery(*(json.dumps(e).encode() for e in events), poisoned, json.dumps(good).encode())
    assert len(raw) <= _CAP
    response = await _okta(http, raw)
    assert response.status_code == 200, response.text[:500]
    assert len(response.json()["events"]) == 10_000
    assert (await _stored(url, good["uuid"])) is not None
    assert (await _stored(url, _parse(raw)["data"]["events"][9_998]["uuid"])) is not None
    await _no_503_and_ready(http)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
async def test_a_utf16_or_utf32_body_is_stored(
    hostile_service: tuple[WebhookServer, str], http: httpx.AsyncClient, encoding: str
) -> None:
    _, url = hostile_service
    good = _leaver()
    raw = json.dumps(okta_hook(good), ensure_ascii=False).encode(encoding)
    response = await _okta(http, raw)
    assert response.status_code == 200, response.text
    stored = await _stored(url, good["uuid"])
    assert stored is not None and stored.payload == good


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x", ""]
)
async def test_a_wrong_content_type_is_stored_or_refused_with_a_4xx(
    hostile_service: tuple[WebhookServer, str], http: httpx.AsyncClient, content_type: str
) -> None:
    good = _leaver()
    response = await _okta(http, json.dumps(okta_hook(good)).encode(), content_type)
    assert response.status_code in (200, 415), response.text
    not_json = await _okta(http, b"<xml>leaver</xml>", content_type)
    assert not_json.status_code == 400, not_json.text
    await _no_503_and_ready(http)


async def test_forwarder_passes_a_nul_payload_intact_and_refuses_unsendable_parameters(
    hostile_service: tuple[WebhookServer, str],
    http: httpx.AsyncClient,
    prefect_client: PrefectClient,
) -> None:
    """A leaver with a NUL in a field no route reads gets its flow run; one whose lone
    surrogate lands in ``spec.reason`` (which Prefect cannot store) is dead at once with the
    parameter named, never retried; the good leaver beside them is forwarded."""
    _, url = hostile_service
    intact = okta_event(email=f"{uid('nul-')}@acme.example")
    intact_raw = _spoil(intact, "severity", b'"sev\\u0000erity": "I\\u0000NFO"')
    unsendable = okta_event(email=f"{uid('sur-')}@acme.example")
    unsendable_raw = _spoil(unsendable, *HOSTILE["lone surrogate escape"])
    good = _leaver()
    response = await _okta(http, _delivery(intact_raw, unsendable_raw, json.dumps(good).encode()))
    assert response.status_code == 200, response.text
    # Generous: a loaded Prefect answers 503 for a while, and the forwarder waits it out.
    runs = await eventually(
        lambda: _runs(prefect_client, {intact["uuid"], good["uuid"]}, 2), within=180
    )
    assert len(runs) == 2

    async def dead() -> InboxEvent | None:
        stored = await _stored(url, unsendable["uuid"])
        return stored if stored is not None and stored.status is EventStatus.DEAD else None

    refused = await eventually(dead, within=180)
    # Dead by refusal, not by running out of attempts (whose reason is Prefect's error).
    assert refused.last_error is not None
    assert refused.last_error.startswith("parameter spec.reason: a lone surrogate")
    assert await runs_for(prefect_client, {unsendable["uuid"]}) == []


async def test_a_replayed_jira_body_with_a_new_identifier_is_a_duplicate(
    hostile_service: tuple[WebhookServer, str], http: httpx.AsyncClient
) -> None:
    """Jira does not sign ``X-Atlassian-Webhook-Identifier``: a captured body sent again
    with a new one is recognised by its signed issue id and timestamp."""
    sender = Sender(http)
    body = jira_issue_created(f"IT-{uid()}")
    body["issue"]["id"] = uid("1")
    first = await sender.jira(body, identifier=str(uuid.uuid4()))
    assert first.status_code == 202, first.text
    replay = await sender.jira(body, identifier=str(uuid.uuid4()))
    assert replay.status_code == 200, replay.text
    assert replay.json()["status"] == "duplicate"
    assert replay.json()["events"][0]["inbox_id"] == first.json()["events"][0]["inbox_id"]
    later = {**body, "timestamp": body["timestamp"] + 1}  # a new event on the same issue
    assert (await sender.jira(later, identifier=str(uuid.uuid4()))).status_code == 202
