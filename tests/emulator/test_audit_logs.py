"""Audit logs: one entry per mutation, admin only, newest first."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.emulator.conftest import Demo, assert_problem, path_id


def test_every_mutation_is_logged_without_secrets(admin: httpx.Client, demo: Demo) -> None:
    admin.post("/v2/organizations", json={"name": "Logged"})
    key = admin.post("/v2/api-keys", json={"key_type": "USER", "name": "k"}).json()
    refreshed = admin.post(f"/v2/api-keys/{path_id(key['id'])}/refresh", json={}).json()
    temp = admin.post(
        "/v2/users",
        json={
            "name": "T",
            "email": "t@acme.example",
            "role": {"type": "PREDEFINED", "name": "MEMBER"},
            "invite_mode": "TEMPORARY_PASSWORD",
        },
    ).json()
    admin.get("/v2/users")  # reads are not logged
    logs = admin.get("/v2/audit-logs").json()["logs"]
    names = [log["operation_name"] for log in logs]
    assert names == ["createUser", "refreshApiKey", "createUserApiKey", "createOrganization"]
    admin_id = demo.users["admin@acme.example"]
    assert all(log["user_id"] == admin_id and log["operation_type"] == "MUTATION" for log in logs)
    assert logs[-1]["operation_text"] == "POST /v2/organizations"
    assert json.loads(logs[-1]["variables"]) == {"name": "Logged"}
    text = json.dumps(logs)
    for secret in (key["key"], refreshed["key"], temp["temporary_password"]):
        assert secret not in text


def test_filters_and_time_formats(admin: httpx.Client, demo: Demo) -> None:
    admin.post("/v2/organizations", json={"name": "A1"})
    admin.post("/v2/roles", json={"name": "R1", "permissions": ["USER_READ"]})
    by_name = admin.get(
        "/v2/audit-logs", params=[("operation_name", "createRole"), ("operation_name", "nothing")]
    )
    assert [log["operation_name"] for log in by_name.json()["logs"]] == ["createRole"]
    by_user = admin.get("/v2/audit-logs", params={"user_id": demo.users["dana@acme.example"]})
    assert by_user.json()["logs"] == []
    assert (
        len(admin.get("/v2/audit-logs", params={"operation_type": "MUTATION"}).json()["logs"]) == 2
    )
    assert admin.get("/v2/audit-logs", params={"operation_type": "QUERY"}).json()["logs"] == []
    now = datetime.now(UTC)
    past, future = now - timedelta(hours=1), now + timedelta(hours=1)
    forms = [
        (past.strftime("%Y-%m-%dT%H:%M:%S.%f%z"), future.strftime("%Y-%m-%dT%H:%M:%S.%f%z")),
        (
            past.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.%f"),
            future.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        ),
        (past.isoformat(), future.isoformat()),
        (past.strftime("%Y-%m-%dT%H:%M:%SZ"), future.strftime("%Y-%m-%dT%H:%M:%SZ")),
    ]
    for start, end in forms:
        logs = admin.get("/v2/audit-logs", params={"start_time": start, "end_time": end}).json()[
            "logs"
        ]
        assert len(logs) == 2, (start, end)
    # The SDK's "+0000" arrives unencoded in some clients: "+" then decodes to a space.
    raw_plus = f"/v2/audit-logs?start_time={forms[0][0]}&end_time={forms[0][1]}"
    assert len(admin.get(raw_plus).json()["logs"]) == 2
    early = admin.get("/v2/audit-logs", params={"end_time": past.isoformat()}).json()["logs"]
    assert early == []
    assert_problem(admin.get("/v2/audit-logs", params={"start_time": "yesterday"}), 400)
    assert_problem(
        admin.get(
            "/v2/audit-logs",
            params={"start_time": future.isoformat(), "end_time": past.isoformat()},
        ),
        400,
    )


@pytest.mark.parametrize("who", ["dana@acme.example"])
def test_audit_logs_are_admin_only(as_user: Callable[[str], httpx.Client], who: str) -> None:
    assert_problem(as_user(who).get("/v2/audit-logs"), 403)


def test_pages_newest_first(admin: httpx.Client) -> None:
    for i in range(5):
        admin.post("/v2/organizations", json={"name": f"Org {i}"})
    first = admin.get("/v2/audit-logs", params={"limit": 3}).json()
    second = admin.get(
        "/v2/audit-logs", params={"limit": 3, "cursor": first["pagination"]["next_cursor"]}
    ).json()
    names = [json.loads(log["variables"])["name"] for log in first["logs"] + second["logs"]]
    assert names == [f"Org {i}" for i in reversed(range(5))]
    assert second["pagination"] == {"has_more": False}
