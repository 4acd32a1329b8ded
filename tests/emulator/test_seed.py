"""The demo and empty seeds are an interface other tests and the demo rely on: pin them."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.emulator.conftest import Demo, path_id
from tests.fixtures.arize import ADMIN_KEY, ArizeTarget


def test_demo_seed(arize: ArizeTarget, admin: httpx.Client, demo: Demo) -> None:
    users = {u["email"]: u for u in admin.get("/v2/users").json()["users"]}
    assert {e: (u["name"], u["role"]["name"], u["status"]) for e, u in users.items()} == {
        "admin@acme.example": ("Avery Admin", "ADMIN", "ACTIVE"),
        "dana@acme.example": ("Dana Data", "MEMBER", "ACTIVE"),
        "lee.leaver@acme.example": ("Lee Leaver", "MEMBER", "ACTIVE"),
        "sam@acme.example": ("Sam Scientist", "MEMBER", "ACTIVE"),
    }
    assert admin.get("/v2/organizations").json()["organizations"][0]["name"] == "Acme"
    spaces = {s["id"]: s["name"] for s in admin.get("/v2/spaces").json()["spaces"]}
    assert sorted(spaces.values()) == ["fraud-detection", "ml-platform", "search-ranking"]
    projects = {
        p["name"]: spaces[p["space_id"]] for p in admin.get("/v2/projects").json()["projects"]
    }
    assert projects == {
        "fraud-model": "fraud-detection",
        "payments-risk": "fraud-detection",
        "ranking-v2": "search-ranking",
        "chat-assistant": "search-ranking",
        "feature-store": "ml-platform",
    }
    state = arize.control("GET", "state")
    org_roles = {
        state["users"][m["user_id"]]["email"]: m["role"]["name"]
        for m in state["org_members"].values()
    }
    assert {k: v for k, v in org_roles.items() if "bots" not in k} == {
        "admin@acme.example": "ADMIN",
        "dana@acme.example": "MEMBER",
        "lee.leaver@acme.example": "MEMBER",
        "sam@acme.example": "MEMBER",
    }
    memberships = sorted(
        (state["users"][m["user_id"]]["email"], spaces[m["space_id"]], m["role"]["name"])
        for m in state["space_members"].values()
        if "bots" not in state["users"][m["user_id"]]["email"]
    )
    assert memberships == [
        ("dana@acme.example", "fraud-detection", "MEMBER"),
        ("lee.leaver@acme.example", "fraud-detection", "MEMBER"),
        ("lee.leaver@acme.example", "search-ranking", "MEMBER"),
        ("sam@acme.example", "search-ranking", "MEMBER"),
    ]
    lee = demo.users["lee.leaver@acme.example"]
    project_bindings = admin.get("/v2/role-bindings", params={"resource_type": "PROJECT"}).json()
    assert [
        (b["user_id"], b["role_id"], b["resource_id"]) for b in project_bindings["role_bindings"]
    ] == [(lee, demo.roles["Project Viewer"], demo.projects["fraud-model"])]
    viewer = admin.get(f"/v2/roles/{path_id(demo.roles['Project Viewer'])}").json()
    assert "PROJECT_READ" in viewer["permissions"]
    assert all(p.endswith("_READ") for p in viewer["permissions"])
    lee_keys = admin.get("/v2/api-keys", params={"user_id": lee}).json()["api_keys"]
    assert [k["name"] for k in lee_keys] == ["lee-laptop"]
    service = admin.get("/v2/api-keys", params={"key_type": "SERVICE"}).json()["api_keys"]
    spaces_of = {
        k["name"]: (
            [spaces[s["space_id"]] for o in k["bot_user"]["organizations"] for s in o["spaces"]],
            k["created_by_user_id"],
        )
        for k in service
    }
    admin_id = demo.users["admin@acme.example"]
    assert spaces_of == {
        "ci-fraud-detection": (["fraud-detection"], admin_id),
        "etl-search-ranking": (["search-ranking"], admin_id),
        "lee-etl": (["search-ranking"], lee),
    }
    assert admin.get("/v2/audit-logs").json()["logs"] == []  # seeding is not an API call


def test_empty_seed(arize: ArizeTarget) -> None:
    key = arize.control("POST", "reset", json={"seed": "empty", "admin_key": ADMIN_KEY})[
        "admin_key"
    ]
    assert key == ADMIN_KEY
    with httpx.Client(
        base_url=arize.base_url, headers={"Authorization": f"Bearer {key}"}, trust_env=False
    ) as c:
        assert [u["email"] for u in c.get("/v2/users").json()["users"]] == ["admin@acme.example"]
        assert [o["name"] for o in c.get("/v2/organizations").json()["organizations"]] == ["Acme"]
        assert c.get("/v2/spaces").json()["spaces"] == []
        assert len(c.get("/v2/roles", params={"is_predefined": "true"}).json()["roles"]) == 4


def test_state_dump_has_no_secrets(arize: ArizeTarget, admin: httpx.Client) -> None:
    key = admin.post("/v2/api-keys", json={"key_type": "USER", "name": "k"}).json()["key"]
    dump = str(arize.control("GET", "state"))
    assert "secrets" not in arize.control("GET", "state")
    assert key not in dump and ADMIN_KEY not in dump


def test_no_key_or_password_reaches_a_log_record(
    arize: ArizeTarget,
    admin: httpx.Client,
    debug_logs: pytest.LogCaptureFixture,
    as_user: Callable[[str], httpx.Client],
) -> None:
    created = admin.post("/v2/api-keys", json={"key_type": "USER", "name": "k"}).json()
    refreshed = admin.post(f"/v2/api-keys/{path_id(created['id'])}/refresh", json={}).json()
    temp = admin.post(
        "/v2/users",
        json={
            "name": "P",
            "email": "p@acme.example",
            "role": {"type": "PREDEFINED", "name": "MEMBER"},
            "invite_mode": "TEMPORARY_PASSWORD",
        },
    ).json()["temporary_password"]
    httpx.get(
        f"{arize.base_url}/v2/users",
        headers={"Authorization": f"Bearer {created['key']}"},
        trust_env=False,
    )
    arize.set_faults(lost_response_rate=1.0)
    with pytest.raises(httpx.TransportError):
        admin.get("/v2/users")
    text = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in debug_logs.records)
    for secret in (ADMIN_KEY, created["key"], refreshed["key"], temp):
        assert secret not in text
