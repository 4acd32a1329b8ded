"""Webhook tests: stand-in deployments under the runbook names, signed senders, run counting.

The stand-in flows, one per runbook of the registry, take the real spec models and ``Trigger``,
so Prefect's parameter-schema check is the same one the real deployments apply.
``run_deployment`` with ``timeout=0`` leaves their runs Scheduled (no worker), which is exactly
what the tests count.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prefect import Flow, flow
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
)
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from cli.main import app as cli_app
from flows.registry import REGISTRY, Runbook
from tasks.triggers import Trigger
from tests.fixtures.webhooks import (
    BAMBOOHR_SECRET,
    GENERIC_SECRET,
    JIRA_SECRET,
    OKTA_SECRET,
    SERVICENOW_TOKEN,
)
from tests.webhooks.backends import inbox_url  # noqa: F401  (fixture: SQLite and PostgreSQL)
from webhooks.verify import sign_bamboohr, sign_hub, sign_standard


def signed_by_the_service(parameters: dict[str, Any]) -> dict[str, Any]:
    """``parameters`` with the trigger's signature checked and then left out, for comparing.

    The service signs every trigger it forwards; the flow believes only a valid signature.
    """
    trigger = dict(parameters["trigger"])
    assert Trigger.model_validate(trigger).is_verified(), "the service signed the trigger"
    trigger.pop("signature")
    return {**parameters, "trigger": trigger}


def _stand_in(runbook: Runbook) -> Flow:
    """A flow named like the runbook, taking its real spec model; it does nothing."""

    def stand_in(spec, dry_run: bool = False, trigger: Trigger | None = None) -> None:
        pass

    stand_in.__annotations__ = {"spec": runbook.spec, "dry_run": bool, "trigger": Trigger | None}
    stand_in.__name__ = stand_in.__qualname__ = runbook.module
    stand_in.__doc__ = f"Stand-in for the {runbook.name} runbook."
    return flow(name=runbook.name)(stand_in)


STAND_INS = [_stand_in(runbook) for runbook in REGISTRY]


@pytest.fixture(scope="session")
async def prefect_client(prefect_harness: str) -> AsyncIterator[PrefectClient]:
    """A client on the harness."""
    async with PrefectClient(api=prefect_harness) as client:
        yield client


@pytest.fixture(scope="session")
async def runbook_deployments(prefect_client: PrefectClient) -> dict[str, Any]:
    """``<flow>/<flow>`` deployments of the stand-in flows; returns name -> deployment id.

    ``_runbook_deployments_keep_their_schema`` reads them back before each test, with the
    client this takes (so it is set up by then)."""
    ids = {}
    for stand_in in STAND_INS:
        deployment = await stand_in.ato_deployment(name=stand_in.name)
        ids[f"{stand_in.name}/{stand_in.name}"] = await deployment.aapply()
    return ids


@pytest.fixture(autouse=True)
async def _runbook_deployments_keep_their_schema(request: pytest.FixtureRequest) -> None:
    """Before a test that uses the stand-ins (directly or through a fixture): check that every
    ``<flow>/<flow>`` deployment exists and enforces a parameter schema.

    The harness is the session's, and other tests deploy and delete under the same names: the
    real runbooks' tests deploy them, ``setup``'s tests delete them and ``setup`` deploys the
    real ones again. Any of those, enforcing the schema, serves the webhook tests as well. One
    re-created without the schema (a bare ``create_deployment`` does that) turned Prefect's
    check off for every later test on the worker: a refused event was accepted, far from the
    cause. This says where the cause is instead.
    """
    if "runbook_deployments" not in request.fixturenames:
        return
    # Set up already: wider-scoped fixtures come before a test's own.
    client: PrefectClient = request.getfixturevalue("prefect_client")
    names = [s.name for s in STAND_INS]
    found = await client.read_deployments(
        flow_filter=FlowFilter(name=FlowFilterName(any_=names)),
        deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=names)),
    )
    strict = {
        d.name
        for d in found
        if d.enforce_parameter_schema and (d.parameter_openapi_schema or {}).get("properties")
    }
    lax = sorted({d.name for d in found} - strict)
    missing = sorted(set(names) - {d.name for d in found})
    assert not lax and not missing, (
        f"deployments {lax or missing} "
        f"{'no longer enforce a parameter schema' if lax else 'are gone'}: a test that ran "
        "before this one on this worker re-created or deleted them; deploy real flows with "
        "tests.fixtures.prefect.deploy_as_shipped, and deploy again what a test deletes"
    )


#: A moment before the current test began (set by ``_runs_of_this_test``, for every test).
_TEST_BEGAN: list[datetime] = [datetime.min.replace(tzinfo=UTC)]


@pytest.fixture(autouse=True)
def _runs_of_this_test() -> None:
    # A few seconds' margin: the scheduled time is read on the client's clock.
    _TEST_BEGAN[0] = datetime.now(UTC) - timedelta(seconds=5)


async def runs_for(client: PrefectClient, event_ids: set[str]) -> list[FlowRun]:
    """Every flow run whose ``trigger.event_id`` is one of ``event_ids`` (all deployments),
    among the runs scheduled since the current test began.

    The harness is the session's: by the end of a worker's session it holds the runs of every
    test it ran (the exactly-once tests alone make hundreds), and tests poll this every
    0.1 s. The runs are read oldest first, so one created while the pages are read lands on
    a later page instead of shifting one already read.
    """
    runs: list[FlowRun] = []
    offset = 0
    since = FlowRunFilter(expected_start_time=FlowRunFilterExpectedStartTime(after_=_TEST_BEGAN[0]))
    while True:
        page = await client.read_flow_runs(
            flow_run_filter=since,
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=200,
            offset=offset,
        )
        runs.extend(
            run
            for run in page
            if isinstance(run.parameters.get("trigger"), dict)
            and run.parameters["trigger"].get("event_id") in event_ids
        )
        if len(page) < 200:
            return runs
        offset += 200


async def eventually(
    check: Callable[[], Awaitable[Any]],
    *,
    within: float = 30.0,
    interval: float = 0.1,
    explain: Callable[[], Awaitable[Any]] | None = None,
) -> Any:
    """Poll ``check`` until it returns something truthy (readiness poll, not a fixed sleep).

    Past ``within`` it raises TimeoutError, or, given ``explain`` (say, the inbox's stats),
    fails the test with what ``explain`` returns then: where a long wait stopped.
    """
    try:
        async with asyncio.timeout(within):
            while True:
                result = await check()
                if result:
                    return result
                await asyncio.sleep(interval)
    except TimeoutError:
        if explain is None:
            raise
        pytest.fail(f"not done within {within} s: {await explain()}")


def run_cli(*args: str) -> Any:
    """``arize-runbooks ARGS`` in this process, as a click runner invokes it (errors raised)."""
    return CliRunner().invoke(cli_app, list(args), catch_exceptions=False)


async def replay_until_settled(*args: str) -> Any:
    """``arize-runbooks inbox replay ARGS``, run again while it answers "pending (retrying)".

    The command makes one pass. When the harness's SQLite answers 503 "database is locked" (a
    loaded CI machine), the events stay pending, retrying, and the command says so; an admin
    then replays again, and so does this. A pass that leaves an event dead exits 1 and fails
    here at once.
    """
    for _ in range(10):
        result = await asyncio.to_thread(run_cli, "inbox", "replay", *args)
        assert result.exit_code == 0, result.output
        if "retrying" not in result.output:
            return result
    raise AssertionError(f"still retrying after 10 replays:\n{result.output}")


def uid(prefix: str = "") -> str:
    """A fresh id, so tests sharing the session's service and harness never collide."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


#: Prometheus samples by name and sorted labels.
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(exposition: str) -> Samples:
    """Every sample of a ``/metrics`` answer (the text exposition format)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def figure(figures: Samples, name: str, **labels: str) -> float:
    """One sample of :func:`samples`; 0 when it is absent."""
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)


class Sender:
    """Sends correctly signed deliveries the way each source does (tests tamper afterwards)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def okta(self, body: Any, *, secret: str = OKTA_SECRET, **kw: Any) -> httpx.Response:
        raw = _raw(body)
        headers = {"Authorization": secret, "Content-Type": "application/json"}
        return await self.http.post("/webhooks/okta", content=raw, headers=headers | kw)

    def bamboohr_headers(self, raw: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "X-BambooHR-Signature": sign_bamboohr(BAMBOOHR_SECRET, raw, stamp),
            "X-BambooHR-Timestamp": stamp,
            "Content-Type": "application/json",
        }

    async def bamboohr(self, body: Any, **kw: Any) -> httpx.Response:
        raw = _raw(body)
        headers = self.bamboohr_headers(raw) | kw
        return await self.http.post("/webhooks/bamboohr", content=raw, headers=headers)

    def jira_headers(self, raw: bytes, *, identifier: str) -> dict[str, str]:
        return {
            "X-Hub-Signature": sign_hub(JIRA_SECRET, raw),
            "X-Atlassian-Webhook-Identifier": identifier,
            "X-Atlassian-Webhook-Retry": "0",
            "Content-Type": "application/json",
        }

    async def jira(self, body: Any, *, identifier: str, **kw: Any) -> httpx.Response:
        raw = _raw(body)
        headers = self.jira_headers(raw, identifier=identifier) | kw
        return await self.http.post("/webhooks/jira", content=raw, headers=headers)

    async def servicenow(self, body: Any, **kw: Any) -> httpx.Response:
        raw = _raw(body)
        headers = {
            "Authorization": f"Bearer {SERVICENOW_TOKEN}",
            "Content-Type": "application/json",
        }
        return await self.http.post("/webhooks/servicenow", content=raw, headers=headers | kw)

    def generic_headers(
        self, raw: bytes, *, msg_id: str, timestamp: int | None = None
    ) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        key = base64.b64decode(GENERIC_SECRET.removeprefix("whsec_"))
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": stamp,
            "webhook-signature": sign_standard(key, msg_id, stamp, raw),
            "Content-Type": "application/json",
        }

    async def generic(self, body: Any, *, msg_id: str, **kw: Any) -> httpx.Response:
        raw = _raw(body)
        headers = self.generic_headers(raw, msg_id=msg_id) | kw
        return await self.http.post("/webhooks/generic", content=raw, headers=headers)


def _raw(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.fixture
async def send(webhook_service: Any, runbook_deployments: dict[str, Any]) -> AsyncIterator[Sender]:
    """A :class:`Sender` on the session's webhook service (deployments in place)."""
    async with httpx.AsyncClient(base_url=webhook_service.base_url, timeout=30) as http:
        yield Sender(http)


# --- real-shaped payloads (webhooks-and-approvals.md §2-§3) --------------------------------


def okta_event(
    event_type: str = "user.lifecycle.deactivate",
    *,
    email: str = "lee.leaver@acme.example",
    uuid_: str | None = None,
    extra_targets: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One Okta System Log event."""
    return {
        "uuid": uuid_ or str(uuid.uuid4()),
        "published": "2026-11-26T09:15:00.000Z",
        "eventType": event_type,
        "version": "0",
        "displayMessage": "Deactivate Okta user",
        "severity": "INFO",
        "actor": {
            "id": "00u1admin",
            "type": "User",
            "alternateId": "admin@acme.example",
            "displayName": "Avery Admin",
        },
        "client": {"ipAddress": "203.0.113.7"},
        "outcome": {"result": "SUCCESS", "reason": None},
        "target": [
            {
                "id": "00u1lee",
                "type": "User",
                "alternateId": email,
                "displayName": "Lee Leaver",
                "detailEntry": None,
            },
            *(extra_targets or []),
        ],
        "transaction": {"type": "WEB", "id": "Xy1"},
        "debugContext": {"debugData": {"requestId": "req-1", "requestUri": "/api/v1/users"}},
        "legacyEventType": "core.user.config.user_deactivated",
    }


def okta_hook(*events: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """The event hook envelope."""
    return {
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "source": "https://acme.okta.com/api/v1/eventHooks/whoql0HfiLGPWc8Jx0g3",
        "eventId": event_id or str(uuid.uuid4()),
        "eventTime": "2026-11-26T09:15:01.000Z",
        "contentType": "application/json",
        "data": {"events": list(events)},
    }


def bamboohr_termination(employee_id: str, email: str) -> dict[str, Any]:
    """A field-based (global) webhook body for an employee whose status became Terminated."""
    return {
        "employees": [
            {
                "id": employee_id,
                "action": "Updated",
                "changedFields": ["employmentHistoryStatus", "status"],
                "fields": {
                    "employmentHistoryStatus": {"value": "Terminated"},
                    "status": {"value": "Inactive"},
                    "workEmail": {"value": email},
                    "firstName": {"value": "Lee"},
                    "lastName": {"value": "Leaver"},
                },
            }
        ],
        "fields": {
            "employmentHistoryStatus": "Employment Status",
            "status": "Status",
            "workEmail": "Work Email",
        },
    }


def jira_issue_created(
    key: str, *, issue_type: str = "Team Onboarding", fields: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A ``jira:issue_created`` body, of an issue of its own (its id and the event's
    timestamp are the body's dedupe key)."""
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "jira:issue_created",
        "issue_event_type_name": "issue_created",
        "user": {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Pat Platform"},
        "issue": {
            "id": str(uuid.uuid4().int % 10**12),
            "key": key,
            "self": f"https://acme.atlassian.net/rest/api/2/issue/{key}",
            "fields": {
                "summary": "New team: Fraud Ops",
                "issuetype": {"id": "10010", "name": issue_type},
                "project": {"id": "10000", "key": "IT", "name": "IT Requests"},
                "status": {"name": "Open"},
                "labels": [],
                "reporter": {
                    "accountId": "5b10ac8d82e05b22cc7d4ef5",
                    "displayName": "Pat Platform",
                    "emailAddress": "pat@acme.example",
                },
                **(fields or {}),
            },
        },
    }
