"""API keys: shown once, hashed, service bots, refresh, revoke, listing."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.emulator.conftest import Demo, assert_problem, path_id
from tests.fixtures.arize import ArizeTarget


def works(arize: ArizeTarget, key: str) -> int:
    """The status of a simple authenticated GET with ``key``."""
    with httpx.Client(base_url=arize.base_url, trust_env=False) as client:
        return client.get(
            "/v2/organizations", headers={"Authorization": f"Bearer {key}"}
        ).status_code


def service_body(demo: Demo, name: str = "svc", **extra: object) -> dict:
    return {
        "key_type": "SERVICE",
        "name": name,
        "organizations": [
            {"org_id": demo.org, "spaces": [{"space_id": demo.spaces["fraud-detection"]}]}
        ],
    } | extra


def test_user_key_value_is_shown_once_and_stored_hashed(
    arize: ArizeTarget, admin: httpx.Client
) -> None:
    created = admin.post(
        "/v2/api-keys", json={"key_type": "USER", "name": "laptop", "description": "d"}
    )
    assert created.status_code == 201
    body = created.json()
    key = body["key"]
    assert body["key_type"] == "USER"
    assert body["status"] == "ACTIVE"
    assert body["redacted_key"] == f"{key[:6]}...{key[-3:]}"
    assert body["expires_at"] is None
    assert body["created_by_user_id"] == arize.user_id("admin@acme.example")
    assert works(arize, key) == 200
    listed = admin.get("/v2/api-keys").json()["api_keys"]
    assert "key" not in next(k for k in listed if k["id"] == body["id"])
    # Stored as sha256 only: the raw value is nowhere in the server's memory dump.
    emulator = arize.server.emulator
    assert hashlib.sha256(key.encode()).hexdigest() in emulator.state.secrets
    from emulator.arize.persistence import dump_state

    assert key not in dump_state(emulator.state)
    assert key not in str(arize.control("GET", "state"))


def test_service_key_creates_a_bot_user(
    arize: ArizeTarget, admin: httpx.Client, demo: Demo
) -> None:
    created = admin.post("/v2/api-keys", json=service_body(demo, "ci"))
    assert created.status_code == 201
    body = created.json()
    bot = body["bot_user"]
    assert body["key_type"] == "SERVICE"
    assert bot["account_role"] == {"type": "PREDEFINED", "name": "MEMBER"}
    assert bot["organizations"] == [
        {
            "org_id": demo.org,
            "role": {"type": "PREDEFINED", "name": "READ_ONLY"},
            "spaces": [
                {
                    "space_id": demo.spaces["fraud-detection"],
                    "role": {"type": "PREDEFINED", "name": "MEMBER"},
                }
            ],
        }
    ]
    assert bot["id"] != body["created_by_user_id"]
    # The bot is a User id that role bindings can target; it acts with its own roles.
    assert admin.get(f"/v2/users/{path_id(bot['id'])}").json()["id"] == bot["id"]
    bindings = admin.get(
        "/v2/role-bindings", params={"resource_type": "SPACE", "user_id": bot["id"]}
    ).json()
    assert [b["resource_id"] for b in bindings["role_bindings"]] == [demo.spaces["fraud-detection"]]
    with httpx.Client(
        base_url=arize.base_url, headers={"Authorization": f"Bearer {body['key']}"}, trust_env=False
    ) as ci:
        # Org READ_ONLY: it sees the org's public spaces; it writes only where it is a member.
        names = {p["name"] for p in ci.get("/v2/projects").json()["projects"]}
        assert names == set(demo.projects)
        assert (
            ci.post(
                "/v2/projects", json={"name": "ci-made", "space_id": demo.spaces["fraud-detection"]}
            ).status_code
            == 201
        )
        assert_problem(
            ci.post("/v2/projects", json={"name": "no", "space_id": demo.spaces["search-ranking"]}),
            403,
        )
        assert_problem(ci.get("/v2/audit-logs"), 403)
    emails = [u["email"] for u in admin.get("/v2/users", params={"limit": 100}).json()["users"]]
    assert all("bots" not in e for e in emails)  # bot users are not listed as people


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"account_role": {"type": "PREDEFINED", "name": "ANNOTATOR"}}, 400),
        ({"account_role": {"type": "PREDEFINED", "name": "MEMBER_UI_ONLY"}}, 400),
        ({"account_role": {"type": "CUSTOM", "id": "Um9sZTo1OmFiY2Q="}}, 422),
        ({"organizations": []}, 422),
    ],
)
def test_service_key_role_rules(admin: httpx.Client, demo: Demo, extra: dict, status: int) -> None:
    assert_problem(admin.post("/v2/api-keys", json=service_body(demo) | extra), status)


def test_service_key_scope_rules(
    admin: httpx.Client, demo: Demo, as_user: Callable[[str], httpx.Client]
) -> None:
    annotator_org = service_body(demo)
    annotator_org["organizations"][0]["role"] = {"type": "PREDEFINED", "name": "ANNOTATOR"}
    assert_problem(admin.post("/v2/api-keys", json=annotator_org), 422)
    custom_org = service_body(demo)
    custom_org["organizations"][0]["role"] = {"type": "CUSTOM", "id": demo.roles["Space Editor"]}
    assert_problem(admin.post("/v2/api-keys", json=custom_org), 422)
    other_org = admin.post("/v2/organizations", json={"name": "Other"}).json()["id"]
    wrong_space = service_body(demo)
    wrong_space["organizations"][0]["org_id"] = other_org
    assert_problem(admin.post("/v2/api-keys", json=wrong_space), 400)
    dana = as_user("dana@acme.example")  # fraud-detection MEMBER, org MEMBER
    assert dana.post("/v2/api-keys", json=service_body(demo, "dana-etl")).status_code == 201
    assert_problem(
        dana.post(
            "/v2/api-keys",
            json=service_body(demo, account_role={"type": "PREDEFINED", "name": "ADMIN"}),
        ),
        422,
    )
    admin_space = service_body(demo)
    admin_space["organizations"][0]["spaces"][0]["role"] = {"type": "PREDEFINED", "name": "ADMIN"}
    assert_problem(dana.post("/v2/api-keys", json=admin_space), 422)
    elsewhere = service_body(demo)
    elsewhere["organizations"][0]["spaces"][0]["space_id"] = demo.spaces["search-ranking"]
    assert_problem(dana.post("/v2/api-keys", json=elsewhere), 403)


def test_listing_rules(
    arize: ArizeTarget, admin: httpx.Client, demo: Demo, as_user: Callable[[str], httpx.Client]
) -> None:
    mine = admin.get("/v2/api-keys").json()["api_keys"]
    assert {k["key_type"] for k in mine} == {"USER"}
    assert {k["created_by_user_id"] for k in mine} == {demo.users["admin@acme.example"]}
    by_space = admin.get("/v2/api-keys", params={"space_id": demo.spaces["search-ranking"]}).json()[
        "api_keys"
    ]
    assert {k["name"] for k in by_space} == {"etl-search-ranking", "lee-etl"}
    assert all(
        k["key_type"] == "SERVICE" and k["bot_user"]["organizations"] == [] for k in by_space
    )
    by_creator = admin.get(
        "/v2/api-keys",
        params={
            "space_id": demo.spaces["search-ranking"],
            "user_id": demo.users["lee.leaver@acme.example"],
        },
    ).json()["api_keys"]
    assert [k["name"] for k in by_creator] == ["lee-etl"]
    every = admin.get("/v2/api-keys", params={"key_type": "SERVICE"}).json()["api_keys"]
    assert {k["name"] for k in every} == {"ci-fraud-detection", "etl-search-ranking", "lee-etl"}
    assert all(k["bot_user"]["organizations"] for k in every)
    etl = next(k for k in every if k["name"] == "etl-search-ranking")
    created = datetime.fromisoformat(etl["created_at"])
    expires = datetime.fromisoformat(etl["expires_at"])
    assert timedelta(days=9) < datetime.now(UTC) - created < timedelta(days=11)
    assert timedelta(days=4) < expires - datetime.now(UTC) < timedelta(days=6)
    ci = next(k for k in every if k["name"] == "ci-fraud-detection")
    assert ci["expires_at"] is None
    assert datetime.now(UTC) - datetime.fromisoformat(ci["created_at"]) > timedelta(days=119)
    sam = as_user("sam@acme.example")
    assert_problem(
        sam.get("/v2/api-keys", params={"user_id": demo.users["dana@acme.example"]}), 403
    )
    sam_sees = sam.get("/v2/api-keys", params={"space_id": demo.spaces["search-ranking"]}).json()[
        "api_keys"
    ]
    assert len(sam_sees) == 2
    assert_problem(sam.get("/v2/api-keys", params={"space_id": demo.spaces["ml-platform"]}), 403)
    assert_problem(admin.get("/v2/api-keys", params={"user_id": "VXNlcjo5OTk6YWJjZA=="}), 404)
    assert_problem(admin.get("/v2/api-keys", params={"status": "EXPIRED"}), 400)


def test_refresh_keeps_identity_and_honours_grace(
    arize: ArizeTarget, admin: httpx.Client, demo: Demo
) -> None:
    created = admin.post(
        "/v2/api-keys", json=service_body(demo, "rotate-me", description="keep")
    ).json()
    old = created["key"]
    refreshed = admin.post(
        f"/v2/api-keys/{path_id(created['id'])}/refresh", json={"grace_period_seconds": 1}
    )
    assert refreshed.status_code == 200
    body = refreshed.json()
    assert (body["id"], body["name"], body["description"], body["key_type"]) == (
        created["id"],
        "rotate-me",
        "keep",
        "SERVICE",
    )
    assert "bot_user" not in body
    new = body["key"]
    assert new != old and body["redacted_key"] != created["redacted_key"]
    assert works(arize, new) == 200
    assert works(arize, old) == 200  # inside the grace period
    deadline = time.monotonic() + 5
    while works(arize, old) == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert works(arize, old) == 401
    assert works(arize, new) == 200
    # Without a grace period the old secret dies at once.
    again = admin.post(f"/v2/api-keys/{path_id(created['id'])}/refresh", json={}).json()
    assert works(arize, new) == 401
    assert works(arize, again["key"]) == 200


def test_refresh_expiry_rules(admin: httpx.Client, demo: Demo) -> None:
    soon = datetime.now(UTC) + timedelta(days=5)
    created = admin.post(
        "/v2/api-keys", json={"key_type": "USER", "name": "bounded", "expires_at": soon.isoformat()}
    ).json()
    kid = path_id(created["id"])
    later = (soon + timedelta(days=1)).isoformat()
    assert_problem(admin.post(f"/v2/api-keys/{kid}/refresh", json={"expires_at": later}), 422)
    assert_problem(
        admin.post(f"/v2/api-keys/{kid}/refresh", json={"grace_period_seconds": 60}), 422
    )
    assert_problem(
        admin.post(f"/v2/api-keys/{kid}/refresh", json={"grace_period_seconds": 86401}), 422
    )
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert_problem(admin.post(f"/v2/api-keys/{kid}/refresh", json={"expires_at": past}), 422)
    inherited = admin.post(f"/v2/api-keys/{kid}/refresh", json={}).json()
    assert inherited["expires_at"] == created["expires_at"]
    sooner = (soon - timedelta(days=1)).replace(tzinfo=None).isoformat()  # naive = UTC
    shorter = admin.post(f"/v2/api-keys/{kid}/refresh", json={"expires_at": sooner}).json()
    assert datetime.fromisoformat(shorter["expires_at"]) < datetime.fromisoformat(
        created["expires_at"]
    )
    assert_problem(
        admin.post("/v2/api-keys", json={"key_type": "USER", "name": "old", "expires_at": past}),
        422,
    )


def test_account_key_lifetime_limit(arize: ArizeTarget, admin: httpx.Client) -> None:
    arize.control("PUT", "settings", json={"max_key_lifetime_seconds": 86400})
    capped = admin.post("/v2/api-keys", json={"key_type": "USER", "name": "capped"}).json()
    assert capped["expires_at"] is not None
    far = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    assert_problem(
        admin.post("/v2/api-keys", json={"key_type": "USER", "name": "far", "expires_at": far}), 422
    )


def test_revoke_is_idempotent_and_immediate(arize: ArizeTarget, admin: httpx.Client) -> None:
    created = admin.post("/v2/api-keys", json={"key_type": "USER", "name": "tmp"}).json()
    kid = path_id(created["id"])
    assert admin.put(f"/v2/api-keys/{kid}/revoke").status_code == 204
    assert works(arize, created["key"]) == 401
    assert admin.put(f"/v2/api-keys/{kid}/revoke").status_code == 204
    revoked = admin.get("/v2/api-keys", params={"status": "REVOKED"}).json()["api_keys"]
    assert [k["id"] for k in revoked] == [created["id"]]
    assert_problem(admin.post(f"/v2/api-keys/{kid}/refresh", json={}), 400)
    assert_problem(admin.put("/v2/api-keys/QXBpS2V5Ojk5OTphYmNk/revoke"), 404)


def test_expired_key_is_401(arize: ArizeTarget, admin: httpx.Client) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=1)
    created = admin.post(
        "/v2/api-keys", json={"key_type": "USER", "name": "brief", "expires_at": soon.isoformat()}
    ).json()
    deadline = time.monotonic() + 5
    while works(arize, created["key"]) == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert works(arize, created["key"]) == 401


def test_who_may_manage_keys(
    arize: ArizeTarget, admin: httpx.Client, demo: Demo, as_user: Callable[[str], httpx.Client]
) -> None:
    service = admin.get("/v2/api-keys", params={"key_type": "SERVICE"}).json()["api_keys"]
    by_name = {k["name"]: k["id"] for k in service}
    lee = as_user("lee.leaver@acme.example")
    sam = as_user("sam@acme.example")
    dana = as_user("dana@acme.example")
    # Lee created lee-etl and has SERVICE_KEY_CREATE/REVOKE in search-ranking.
    assert (
        lee.post(f"/v2/api-keys/{path_id(by_name['lee-etl'])}/refresh", json={}).status_code == 200
    )
    # Sam can read search-ranking's keys but did not create them: 403.
    assert_problem(sam.put(f"/v2/api-keys/{path_id(by_name['lee-etl'])}/revoke"), 403)
    # Dana cannot even read them: 404 (no id enumeration).
    assert_problem(dana.put(f"/v2/api-keys/{path_id(by_name['lee-etl'])}/revoke"), 404)
    dana_key = dana.post("/v2/api-keys", json={"key_type": "USER", "name": "dana"}).json()
    assert_problem(sam.put(f"/v2/api-keys/{path_id(dana_key['id'])}/revoke"), 404)
    assert admin.put(f"/v2/api-keys/{path_id(dana_key['id'])}/revoke").status_code == 204
    assert lee.put(f"/v2/api-keys/{path_id(by_name['lee-etl'])}/revoke").status_code == 204
