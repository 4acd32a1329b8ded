"""Transport conventions: auth, Problem bodies, ids, pagination, codes."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.emulator.conftest import Demo, assert_problem, path_id
from tests.fixtures.arize import ArizeTarget


def test_missing_and_malformed_credentials_are_401(anon: httpx.Client) -> None:
    assert_problem(anon.get("/v2/users"), 401)
    assert_problem(anon.get("/v2/users", headers={"Authorization": "Basic abc"}), 401)
    assert_problem(anon.get("/v2/users", headers={"Authorization": "Bearer"}), 401)
    assert_problem(anon.get("/v2/users", headers={"Authorization": "Bearer ak-nope"}), 401)


def test_problem_body_has_every_member(admin: httpx.Client) -> None:
    body = assert_problem(admin.get("/v2/users/VXNlcjo5OTk6YWJjZA=="), 404)
    assert body["title"] == "Not Found"
    assert body["type"].endswith("#resource-not-found")
    assert body["instance"] == "/v2/users/VXNlcjo5OTk6YWJjZA=="
    assert body["request_id"].startswith("req_")


def test_ids_are_base64_global_ids_the_sdk_recognises(demo: Demo) -> None:
    for value, type_name in [
        (demo.org, "Organization"),
        (demo.spaces["fraud-detection"], "Space"),
        (demo.projects["fraud-model"], "Model"),
        (demo.roles["Project Viewer"], "Role"),
        (demo.users["dana@acme.example"], "User"),
    ]:
        text = base64.b64decode(value, validate=True).decode()
        kind, number, salt = text.split(":")
        assert kind == type_name and number.isdigit() and len(salt) == 4
        assert "/" not in value and "+" not in value


def test_percent_encoded_path_ids_are_decoded(admin: httpx.Client, demo: Demo) -> None:
    role_id = demo.roles["Project Viewer"]
    encoded = path_id(role_id)
    response = admin.get(f"/v2/roles/{encoded}")
    assert response.status_code == 200
    assert response.json()["id"] == role_id


def test_malformed_or_mistyped_ids_are_400(admin: httpx.Client, demo: Demo) -> None:
    assert_problem(admin.get("/v2/users/not-an-id"), 400)
    assert_problem(admin.get(f"/v2/users/{path_id(demo.org)}"), 400, detail="User")
    assert_problem(admin.get(f"/v2/projects/{path_id(demo.spaces['ml-platform'])}"), 400)


def test_unknown_route_is_a_problem(admin: httpx.Client) -> None:
    assert_problem(admin.get("/v2/nothing-here"), 404)
    assert_problem(admin.put("/v2/users"), 405)


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc"])
def test_limit_outside_1_to_100_is_400(admin: httpx.Client, limit: str) -> None:
    assert_problem(admin.get("/v2/users", params={"limit": limit}), 400)


def test_pagination_across_more_than_100_objects(admin: httpx.Client) -> None:
    for i in range(120):
        response = admin.post(
            "/v2/users",
            json={
                "name": f"Bulk {i}",
                "email": f"bulk{i:03d}@acme.example",
                "role": {"type": "PREDEFINED", "name": "MEMBER"},
                "invite_mode": "NONE",
            },
        )
        assert response.status_code == 201
    first = admin.get("/v2/users", params={"limit": 100, "email": "bulk"}).json()
    assert len(first["users"]) == 100
    assert first["pagination"]["has_more"] is True
    cursor = first["pagination"]["next_cursor"]
    second = admin.get("/v2/users", params={"limit": 100, "email": "bulk", "cursor": cursor}).json()
    assert len(second["users"]) == 20
    assert second["pagination"] == {"has_more": False}  # next_cursor omitted at the end
    emails = [u["email"] for u in first["users"] + second["users"]]
    assert emails == sorted(emails)  # oldest first
    assert len(set(emails)) == 120
    default = admin.get("/v2/users").json()
    assert len(default["users"]) == 50  # server default limit


def test_cursor_is_opaque_and_bound_to_its_filters(admin: httpx.Client) -> None:
    page = admin.get("/v2/roles", params={"limit": 2}).json()
    cursor = page["pagination"]["next_cursor"]
    assert_problem(admin.get("/v2/roles", params={"cursor": "garbage!"}), 400)
    assert_problem(admin.get("/v2/roles", params={"cursor": cursor, "is_predefined": "true"}), 400)
    assert admin.get("/v2/roles", params={"cursor": cursor, "limit": 2}).status_code == 200


def test_cursor_survives_deletes_between_pages(admin: httpx.Client, demo: Demo) -> None:
    page = admin.get("/v2/projects", params={"limit": 2}).json()
    seen = [p["name"] for p in page["projects"]]
    assert admin.delete(f"/v2/projects/{path_id(page['projects'][0]['id'])}").status_code == 204
    rest = admin.get(
        "/v2/projects", params={"limit": 100, "cursor": page["pagination"]["next_cursor"]}
    ).json()
    names = seen + [p["name"] for p in rest["projects"]]
    assert sorted(names) == sorted(demo.projects)


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/v2/users", "users"),
        ("/v2/organizations", "organizations"),
        ("/v2/spaces", "spaces"),
        ("/v2/projects", "projects"),
        ("/v2/roles", "roles"),
        ("/v2/role-bindings?resource_type=SPACE", "role_bindings"),
        ("/v2/resource-restrictions", "resource_restrictions"),
        ("/v2/api-keys", "api_keys"),
        ("/v2/audit-logs", "logs"),
    ],
)
def test_list_envelopes(admin: httpx.Client, path: str, key: str) -> None:
    body = admin.get(path).json()
    assert set(body) == {key, "pagination"}
    assert isinstance(body[key], list)
    assert "has_more" in body["pagination"]


def test_request_ids_are_returned_as_header(admin: httpx.Client) -> None:
    response = admin.get("/v2/users")
    assert response.headers["x-request-id"].startswith("req_")


def test_bodies_that_break_the_schema_are_422_and_bad_json_400(admin: httpx.Client) -> None:
    assert_problem(admin.post("/v2/organizations", json={}), 422)
    assert_problem(admin.post("/v2/organizations", json={"name": "X", "id": "abc"}), 422)
    assert_problem(
        admin.post(
            "/v2/organizations",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        ),
        400,
    )


def test_every_documented_success_code(arize: ArizeTarget, admin: httpx.Client, demo: Demo) -> None:
    """The exact 2xx of §12.2, endpoint by endpoint."""
    org = demo.org
    dana = demo.users["dana@acme.example"]
    codes: list[tuple[str, int, int]] = []

    def call(method: str, path: str, expected: int, **kwargs: object) -> httpx.Response:
        response = admin.request(method, path, **kwargs)  # type: ignore[arg-type]
        codes.append((f"{method} {path}", response.status_code, expected))
        return response

    user = call(
        "POST",
        "/v2/users",
        201,
        json={
            "name": "Code",
            "email": "code@acme.example",
            "role": {"type": "PREDEFINED", "name": "MEMBER"},
            "invite_mode": "EMAIL_LINK",
        },
    ).json()
    call(
        "POST",
        "/v2/users",
        200,
        json={
            "name": "Code",
            "email": "code@acme.example",
            "role": {"type": "PREDEFINED", "name": "MEMBER"},
            "invite_mode": "EMAIL_LINK",
        },
    )
    uid = path_id(user["id"])
    call("GET", f"/v2/users/{uid}", 200)
    call("PATCH", f"/v2/users/{uid}", 200, json={"name": "Code Two"})
    call("POST", f"/v2/users/{uid}/resend-invitation", 204)
    call("POST", f"/v2/users/{path_id(dana)}/reset-password", 204)
    new_org = call("POST", "/v2/organizations", 201, json={"name": "Codes"}).json()
    oid = path_id(new_org["id"])
    call("GET", f"/v2/organizations/{oid}", 200)
    call("PATCH", f"/v2/organizations/{oid}", 200, json={"description": "d"})
    call(
        "POST",
        f"/v2/organizations/{oid}/users",
        200,
        json={"user_id": dana, "role": {"type": "PREDEFINED", "name": "MEMBER"}},
    )
    space = call("POST", "/v2/spaces", 201, json={"name": "codes", "organization_id": org}).json()
    sid = path_id(space["id"])
    call("GET", f"/v2/spaces/{sid}", 200)
    call("PATCH", f"/v2/spaces/{sid}", 200, json={"is_private": True})
    call(
        "POST",
        f"/v2/spaces/{sid}/users",
        200,
        json={"user_id": dana, "role": {"type": "PREDEFINED", "name": "READ_ONLY"}},
    )
    project = call("POST", "/v2/projects", 201, json={"name": "p", "space_id": space["id"]}).json()
    pid = path_id(project["id"])
    call("GET", f"/v2/projects/{pid}", 200)
    call("PATCH", f"/v2/projects/{pid}", 200, json={"name": "p2"})
    role = call(
        "POST", "/v2/roles", 201, json={"name": "Codes Role", "permissions": ["PROJECT_READ"]}
    ).json()
    rid = path_id(role["id"])
    call("GET", f"/v2/roles/{rid}", 200)
    call("PATCH", f"/v2/roles/{rid}", 200, json={"permissions": ["PROJECT_READ", "SPACE_READ"]})
    binding = call(
        "POST",
        "/v2/role-bindings",
        201,
        json={
            "user_id": dana,
            "role_id": role["id"],
            "resource_type": "PROJECT",
            "resource_id": project["id"],
        },
    ).json()
    bid = path_id(binding["id"])
    call("GET", f"/v2/role-bindings/{bid}", 200)
    call("PATCH", f"/v2/role-bindings/{bid}", 200, json={"role_id": demo.roles["Project Viewer"]})
    call("POST", "/v2/resource-restrictions", 200, json={"resource_id": project["id"]})
    call("POST", "/v2/resource-restrictions", 200, json={"resource_id": project["id"]})
    call("DELETE", f"/v2/resource-restrictions/{pid}", 204)
    key = call("POST", "/v2/api-keys", 201, json={"key_type": "USER", "name": "k"}).json()
    kid = path_id(key["id"])
    call("POST", f"/v2/api-keys/{kid}/refresh", 200, json={})
    call("PUT", f"/v2/api-keys/{kid}/revoke", 204)
    call("GET", "/v2/audit-logs", 200)
    call("DELETE", f"/v2/role-bindings/{bid}", 204)
    call("DELETE", f"/v2/roles/{rid}", 204)
    call("DELETE", f"/v2/projects/{pid}", 204)
    call("DELETE", f"/v2/spaces/{sid}/users/{path_id(dana)}", 204)
    call("DELETE", f"/v2/organizations/{oid}/users/{path_id(dana)}", 204)
    call("DELETE", f"/v2/spaces/{sid}", 204)
    call("DELETE", f"/v2/organizations/{oid}", 204)
    call("DELETE", f"/v2/users/{uid}", 204)
    wrong = [c for c in codes if c[1] != c[2]]
    assert not wrong, wrong
    assert len(codes) == 38
