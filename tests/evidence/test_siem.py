"""Every record reaches Splunk HEC, syslog and a JSON-lines file through the inbox outbox, and a
SIEM outage loses nothing: real servers on loopback, taken down and brought back.

The outage's length is injected as passes of the forwarder under a compressed retry schedule
(milliseconds instead of its 1 s to 60 s backoff): transient failures are never dead-lettered
however many there are, so the number of failed passes, not the minutes, is what matters. The
test runs more failed passes than ``max_attempts``, which would kill an event failing with an
unexpected error.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from pydantic import SecretStr

from tests.evidence.records import record
from tests.evidence.service import SERVICE_KEY, evidence_api, signed_batch
from tests.evidence.siem import HEC_TOKEN, HecReceiver, SyslogListener
from webhooks.evidence.delivery import SiemDelivery
from webhooks.evidence.sinks import HecSink, JsonlSink, SyslogSink
from webhooks.evidence.store import SIEM_SOURCE
from webhooks.forwarder import Forwarder
from webhooks.inbox import Inbox
from webhooks.inbox_records import EventStatus
from webhooks.routing import Router

RECORDS = 12


async def _drain(forwarder: Forwarder, inbox: Inbox, passes: int) -> None:
    for _ in range(passes):
        await forwarder.forward_once()
        if not [e for e in await inbox.list(status=EventStatus.PENDING, limit=1000)]:
            return
        await asyncio.sleep(0.01)  # the compressed backoff falls due


async def _siem_rows(inbox: Inbox) -> dict[EventStatus, int]:
    rows = await inbox.list(source=SIEM_SOURCE, limit=10_000)
    counts: dict[EventStatus, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


async def test_a_siem_outage_loses_nothing(
    inbox_url: str, tmp_path: Path, monkeypatch, debug_logs
) -> None:
    monkeypatch.setenv("ARIZE_RUNBOOKS_SERVICE_KEY", SERVICE_KEY)
    jsonl = tmp_path / "siem" / "events.jsonl"
    syslog = SyslogListener()
    await syslog.start()
    async with HecReceiver() as hec, evidence_api(
        inbox_url, sinks=["hec", "syslog", "jsonl"]
    ) as (client, inbox):
        sinks = [
            HecSink(hec.url, SecretStr(HEC_TOKEN)),
            SyslogSink("127.0.0.1", syslog.port),
            JsonlSink(jsonl),
        ]
        siem = SiemDelivery(sinks)
        forwarder = Forwarder(
            inbox, Router.empty(), siem=siem, backoff_base=0.001, backoff_max=0.002,
            max_attempts=3,
        )
        # The SIEM goes away: HEC answers 503, the syslog collector refuses connections, the
        # file sink's path cannot be written (a directory stands in its way: permissions
        # would not stop root).
        hec.down = True
        await syslog.stop()
        jsonl.mkdir(parents=True)

        body, headers = signed_batch([record(n) for n in range(RECORDS)])
        appended = (await client.post("/evidence/records", json=body, headers=headers)).json()
        hashes = {a["hash"] for a in appended["appended"]}
        assert len(hashes) == RECORDS

        for _ in range(12):  # 4 times max_attempts of failed passes
            await forwarder.forward_once()
            await asyncio.sleep(0.01)
        during = await _siem_rows(inbox)
        assert during == {EventStatus.PENDING: 3 * RECORDS}, during
        stuck = await inbox.list(source=SIEM_SOURCE, limit=1)
        assert stuck[0].attempts >= 4  # retried through the outage, never given up

        # The SIEM is back.
        hec.down = False
        await syslog.start()
        jsonl.rmdir()
        await _drain(forwarder, inbox, passes=50)
        await siem.close()
        after = await _siem_rows(inbox)

    assert after == {EventStatus.FORWARDED: 3 * RECORDS}, after
    assert set(hec.events) == hashes and hec.refused > 0
    assert syslog.keys() == hashes
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert {line["key"] for line in lines} == hashes
    # What arrived is the OCSF event, in HEC's envelope.
    event = next(iter(hec.events.values()))
    assert event["sourcetype"] == "ocsf:iam" and event["event"]["class_uid"] in (3001, 3005, 3006)
    # RFC 5424: <PRI>VERSION TIMESTAMP HOST APP PROCID MSGID [SD] BOM+MSG
    header = syslog.messages[0].split(b" ", 7)
    assert header[0] in (b"<85>1", b"<84>1") and header[3] == b"arize-runbooks"
    assert header[5].startswith(b"OCSF300")
    await syslog.stop()

    # Nothing secret in anything the SIEM or the logs got.
    texts = [*hec.bodies, *(m.decode() for m in syslog.messages), jsonl.read_text()]
    texts.append(debug_logs.text)
    for secret in (HEC_TOKEN, SERVICE_KEY):
        assert not any(secret in text for text in texts), secret


async def test_a_refused_token_is_dead_lettered_and_replayable(
    inbox_url: str, monkeypatch
) -> None:
    monkeypatch.setenv("ARIZE_RUNBOOKS_SERVICE_KEY", SERVICE_KEY)
    async with HecReceiver() as hec, evidence_api(inbox_url, sinks=["hec"]) as (client, inbox):
        wrong = SiemDelivery([HecSink(hec.url, SecretStr("not-the-token"))])
        forwarder = Forwarder(inbox, Router.empty(), siem=wrong, backoff_base=0.001)
        body, headers = signed_batch([record(1)])
        await client.post("/evidence/records", json=body, headers=headers)
        summary = await forwarder.forward_once()
        assert len(summary.dead) == 1 and not hec.events
        dead = await inbox.get(summary.dead[0])
        assert dead is not None and "403" in (dead.last_error or "")
        assert "not-the-token" not in (dead.last_error or "")
        await wrong.close()

        right = SiemDelivery([HecSink(hec.url, SecretStr(HEC_TOKEN))])
        assert await inbox.replay([dead.id]) == [dead.id]  # `arize-runbooks inbox replay`
        forwarder.siem = right
        await _drain(forwarder, inbox, passes=5)
        await right.close()
    assert len(hec.events) == 1
