"""Users: idempotent invites, invite modes, delete cascade, invitations."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.emulator.conftest import Demo, assert_problem, path_id
from tests.fixtures.arize import ArizeTarget


def new_user(email: str, mode: str = "EMAIL_LINK", role: str = "MEMBER") -> dict:
    return {
        "name": email.split("@")[0].title(),
        "email": email,
        "role": {"type": "PREDEFINED", "name": role},
        "invite_mode": mode,
    }


def test_create_is_idempotent_on_email(admin: httpx.Client) -> None:
    first = admin.post("/v2/users", json=new_user("ivy@acme.example"))
    assert first.status_code == 201
    body = first.json()
    assert body["status"] == "INVITED"
    assert body["invite_mode"] == "EMAIL_LINK"
    assert "temporary_password" not in body
    again = admin.post("/v2/users", json=new_user("IVY@acme.example"))
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert "invite_mode" not in again.json()  # a plain User on the 200 path


def test_active_user_conflicts(admin: httpx.Client) -> None:
    assert_problem(admin.post("/v2/users", json=new_user("dana@acme.example")), 409)
    assert_problem(admin.post("/v2/users", json=new_user("dana@acme.example", "NONE")), 409)


def test_invite_mode_none_is_active_at_once(admin: httpx.Client) -> None:
    body = admin.post("/v2/users", json=new_user("sso@acme.example", "NONE")).json()
    assert body["status"] == "ACTIVE"


def test_temporary_password_is_returned_once(admin: httpx.Client) -> None:
    created = admin.post("/v2/users", json=new_user("tmp@acme.example", "TEMPORARY_PASSWORD"))
    assert created.status_code == 201
    password = created.json()["temporary_password"]
    assert password
    got = admin.get(f"/v2/users/{path_id(created.json()['id'])}").json()
    assert "temporary_password" not in got
    again = admin.post("/v2/users", json=new_user("tmp@acme.example", "TEMPORARY_PASSWORD"))
    assert again.status_code == 200 and "temporary_password" not in again.json()
    logs = admin.get("/v2/audit-logs").json()["logs"]
    assert all(password not in str(log) for log in logs)


def test_expired_invitation_is_reissued(arize: ArizeTarget, admin: httpx.Client) -> None:
    user = admin.post("/v2/users", json=new_user("late@acme.example")).json()
    arize.control("PUT", f"users/{user['id']}/status", json={"status": "EXPIRED"})
    assert admin.get(f"/v2/users/{path_id(user['id'])}").json()["status"] == "EXPIRED"
    again = admin.post("/v2/users", json=new_user("late@acme.example"))
    assert again.status_code == 201
    assert again.json()["id"] == user["id"]
    assert again.json()["status"] == "INVITED"


def test_role_rules_on_create(admin: httpx.Client, as_user: Callable[[str], httpx.Client]) -> None:
    assert_problem(
        admin.post("/v2/users", json=new_user("ui@acme.example", role="MEMBER_UI_ONLY")), 400
    )
    bad = new_user("c@acme.example") | {"role": {"type": "CUSTOM", "id": "Um9sZToxOlY0S2E="}}
    assert_problem(admin.post("/v2/users", json=bad), 400)
    assert_problem(
        admin.post("/v2/users", json=new_user("x@acme.example") | {"invite_mode": "SMS"}), 422
    )
    assert_problem(admin.post("/v2/users", json=new_user("not-an-email")), 422)
    dana = as_user("dana@acme.example")
    assert_problem(dana.post("/v2/users", json=new_user("boss@acme.example", role="ADMIN")), 403)
    assert dana.post("/v2/users", json=new_user("peer@acme.example")).status_code == 201


def test_list_filters(admin: httpx.Client) -> None:
    admin.post("/v2/users", json=new_user("pending@acme.example"))
    invited = admin.get("/v2/users", params={"status": "INVITED"}).json()["users"]
    assert [u["email"] for u in invited] == ["pending@acme.example"]
    both = admin.get("/v2/users", params=[("status", "INVITED"), ("status", "ACTIVE")]).json()
    assert len(both["users"]) == 5
    partial = admin.get("/v2/users", params={"email": "ACME.EXAMPLE"}).json()["users"]
    assert len(partial) == 5
    assert_problem(admin.get("/v2/users", params={"status": "DELETED"}), 400)


def test_update_rules(
    admin: httpx.Client, demo: Demo, as_user: Callable[[str], httpx.Client]
) -> None:
    dana = path_id(demo.users["dana@acme.example"])
    assert_problem(admin.patch(f"/v2/users/{dana}", json={}), 400)
    assert_problem(admin.patch(f"/v2/users/{dana}", json={"name": "   "}), 400)
    renamed = admin.patch(f"/v2/users/{dana}", json={"name": "  Dana D  "}).json()
    assert renamed["name"] == "Dana D"
    assert (
        admin.patch(f"/v2/users/{dana}", json={"is_developer": False}).json()["is_developer"]
        is False
    )
    member = as_user("sam@acme.example")
    assert_problem(member.patch(f"/v2/users/{dana}", json={"is_developer": True}), 403)
    assert_problem(member.patch(f"/v2/users/{dana}", json={"name": "x"}), 403)
    assert_problem(admin.patch("/v2/users/VXNlcjo5OTk6YWJjZA==", json={"name": "x"}), 404)


def test_delete_is_terminal_and_cascades(
    arize: ArizeTarget, admin: httpx.Client, demo: Demo
) -> None:
    lee = demo.users["lee.leaver@acme.example"]
    lee_key = arize.key_for(lee)
    with httpx.Client(base_url=arize.base_url, trust_env=False) as raw:
        assert (
            raw.get("/v2/users", headers={"Authorization": f"Bearer {lee_key}"}).status_code == 200
        )
        before = admin.get("/v2/role-bindings", params={"resource_type": "PROJECT", "user_id": lee})
        assert len(before.json()["role_bindings"]) == 1
        lee_keys = admin.get("/v2/api-keys", params={"user_id": lee}).json()["api_keys"]
        assert {k["name"] for k in lee_keys} >= {"lee-laptop"}

        assert admin.delete(f"/v2/users/{path_id(lee)}").status_code == 204

        assert_problem(raw.get("/v2/users", headers={"Authorization": f"Bearer {lee_key}"}), 401)
    assert_problem(admin.get(f"/v2/users/{path_id(lee)}"), 404)
    emails = [u["email"] for u in admin.get("/v2/users", params={"limit": 100}).json()["users"]]
    assert "lee.leaver@acme.example" not in emails
    for kind in ("PROJECT", "SPACE"):
        rb = admin.get("/v2/role-bindings", params={"resource_type": kind}).json()["role_bindings"]
        assert all(b["user_id"] != lee for b in rb)
    revoked = admin.get("/v2/api-keys", params={"user_id": lee, "status": "REVOKED"}).json()
    assert {k["name"] for k in revoked["api_keys"]} >= {"lee-laptop"}
    active = admin.get("/v2/api-keys", params={"user_id": lee}).json()["api_keys"]
    assert active == []
    state = arize.control("GET", "state")
    assert all(m["user_id"] != lee for m in state["org_members"].values())
    assert all(m["user_id"] != lee for m in state["space_members"].values())
    # The service key Lee created is not a user key: it keeps working (offboarding revokes it).
    service = admin.get("/v2/api-keys", params={"key_type": "SERVICE", "user_id": lee}).json()
    assert [k["name"] for k in service["api_keys"]] == ["lee-etl"]
    # Terminal: deleting again is 204, re-inviting is 409.
    assert admin.delete(f"/v2/users/{path_id(lee)}").status_code == 204
    assert_problem(admin.post("/v2/users", json=new_user("lee.leaver@acme.example")), 409)


def test_delete_needs_admin_and_cannot_target_self(
    admin: httpx.Client, demo: Demo, as_user: Callable[[str], httpx.Client]
) -> None:
    sam = as_user("sam@acme.example")
    assert_problem(sam.delete(f"/v2/users/{path_id(demo.users['dana@acme.example'])}"), 403)
    assert_problem(admin.delete(f"/v2/users/{path_id(demo.users['admin@acme.example'])}"), 400)
    assert_problem(admin.delete("/v2/users/VXNlcjo5OTk6YWJjZA=="), 404)


@pytest.mark.parametrize("status", ["INVITED", "EXPIRED"])
def test_resend_invitation_for_unverified_users(
    arize: ArizeTarget, admin: httpx.Client, status: str
) -> None:
    user = admin.post("/v2/users", json=new_user("again@acme.example")).json()
    arize.control("PUT", f"users/{user['id']}/status", json={"status": status})
    response = admin.post(f"/v2/users/{path_id(user['id'])}/resend-invitation")
    assert response.status_code == 204
    assert admin.get(f"/v2/users/{path_id(user['id'])}").json()["status"] == "INVITED"
    assert_problem(admin.post(f"/v2/users/{path_id(user['id'])}/reset-password"), 400)


def test_resend_and_reset_on_active_users(admin: httpx.Client, demo: Demo) -> None:
    dana = path_id(demo.users["dana@acme.example"])
    assert_problem(admin.post(f"/v2/users/{dana}/resend-invitation"), 400)
    assert admin.post(f"/v2/users/{dana}/reset-password").status_code == 204
    assert_problem(admin.post("/v2/users/VXNlcjo5OTk6YWJjZA==/reset-password"), 404)


def test_annotators_cannot_read_users(arize: ArizeTarget, admin: httpx.Client) -> None:
    user = admin.post("/v2/users", json=new_user("ann@acme.example", "NONE", "ANNOTATOR")).json()
    with httpx.Client(
        base_url=arize.base_url,
        headers={"Authorization": f"Bearer {arize.key_for(user['id'])}"},
        trust_env=False,
    ) as annotator:
        assert_problem(annotator.get("/v2/users"), 403)
        other = admin.get("/v2/users").json()["users"][0]["id"]
        assert_problem(annotator.get(f"/v2/users/{path_id(other)}"), 404)
        assert annotator.get(f"/v2/users/{path_id(user['id'])}").status_code == 200
