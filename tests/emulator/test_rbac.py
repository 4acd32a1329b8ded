"""Roles, role bindings and resource restrictions."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.emulator.conftest import Demo, assert_problem, path_id
from tests.fixtures.arize import ArizeTarget


def test_predefined_roles_are_listed_and_frozen(admin: httpx.Client, demo: Demo) -> None:
    predefined = admin.get("/v2/roles", params={"is_predefined": "true"}).json()["roles"]
    assert [r["name"] for r in predefined] == ["ADMIN", "MEMBER", "READ_ONLY", "ANNOTATOR"]
    assert all(r["is_predefined"] for r in predefined)
    assert len(predefined[0]["permissions"]) == 151
    custom = admin.get("/v2/roles", params={"is_predefined": "false"}).json()["roles"]
    assert [r["name"] for r in custom] == ["Project Viewer", "Space Editor"]
    rid = path_id(demo.roles["ADMIN"])
    assert_problem(admin.patch(f"/v2/roles/{rid}", json={"name": "Boss"}), 400)
    assert_problem(admin.delete(f"/v2/roles/{rid}"), 400)


def test_custom_role_lifecycle(admin: httpx.Client) -> None:
    created = admin.post(
        "/v2/roles",
        json={
            "name": "Auditor (read) #1",
            "description": "d",
            "permissions": ["USER_READ", "ROLE_READ", "USER_READ"],
        },
    )
    assert created.status_code == 201
    role = created.json()
    assert role["permissions"] == ["ROLE_READ", "USER_READ"]
    assert role["is_predefined"] is False
    rid = path_id(role["id"])
    replaced = admin.patch(f"/v2/roles/{rid}", json={"permissions": ["SPACE_READ"]}).json()
    assert replaced["permissions"] == ["SPACE_READ"]
    cleared = admin.patch(f"/v2/roles/{rid}", json={"description": None}).json()
    assert "description" not in cleared
    assert admin.delete(f"/v2/roles/{rid}").status_code == 204
    assert_problem(admin.get(f"/v2/roles/{rid}"), 404)
    # The name is free again once the role is deleted.
    assert (
        admin.post(
            "/v2/roles", json={"name": "Auditor (read) #1", "permissions": ["USER_READ"]}
        ).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "Project Viewer", "permissions": ["PROJECT_READ"]}, 409),
        ({"name": "ADMIN", "permissions": ["PROJECT_READ"]}, 409),
        ({"name": "bad~name", "permissions": ["PROJECT_READ"]}, 422),
        ({"name": "r", "permissions": ["PROJECT_READ", "NOT_A_PERMISSION"]}, 422),
        ({"name": "r", "permissions": []}, 422),
        ({"name": "r"}, 422),
        ({"name": "r", "permissions": ["PROJECT_READ"], "is_predefined": False}, 422),
    ],
)
def test_role_create_errors(admin: httpx.Client, body: dict, status: int) -> None:
    assert_problem(admin.post("/v2/roles", json=body), status)


def test_role_in_use_cannot_be_deleted(admin: httpx.Client, demo: Demo) -> None:
    assert_problem(admin.delete(f"/v2/roles/{path_id(demo.roles['Project Viewer'])}"), 409)


def test_role_permissions_by_caller(
    arize: ArizeTarget, admin: httpx.Client, as_user: Callable[[str], httpx.Client]
) -> None:
    dana = as_user("dana@acme.example")
    assert dana.get("/v2/roles").status_code == 200
    assert_problem(dana.post("/v2/roles", json={"name": "x", "permissions": ["USER_READ"]}), 403)
    ann = admin.post(
        "/v2/users",
        json={
            "name": "A",
            "email": "a@acme.example",
            "role": {"type": "PREDEFINED", "name": "ANNOTATOR"},
            "invite_mode": "NONE",
        },
    ).json()["id"]
    assert_problem(as_user(ann).get("/v2/roles"), 403)


def test_role_binding_rules(admin: httpx.Client, demo: Demo) -> None:
    sam = demo.users["sam@acme.example"]
    project = demo.projects["ranking-v2"]
    viewer = demo.roles["Project Viewer"]
    body = {"user_id": sam, "role_id": viewer, "resource_type": "PROJECT", "resource_id": project}
    created = admin.post("/v2/role-bindings", json=body)
    assert created.status_code == 201
    binding = created.json()
    assert set(binding) == {
        "id",
        "role_id",
        "user_id",
        "resource_type",
        "resource_id",
        "created_at",
        "updated_at",
    }
    assert_problem(
        admin.post("/v2/role-bindings", json=body | {"role_id": demo.roles["Space Editor"]}), 409
    )
    mismatch = body | {"resource_type": "SPACE"}
    assert_problem(admin.post("/v2/role-bindings", json=mismatch), 400)
    missing = body | {"resource_id": "TW9kZWw6OTk5OmFiY2Q="}
    assert_problem(admin.post("/v2/role-bindings", json=missing), 403)
    assert_problem(
        admin.post(
            "/v2/role-bindings",
            json=body
            | {"user_id": "VXNlcjo5OTk6YWJjZA==", "resource_id": demo.projects["chat-assistant"]},
        ),
        404,
    )
    assert_problem(
        admin.post(
            "/v2/role-bindings",
            json=body
            | {"role_id": "Um9sZTo5OTk6YWJjZA==", "resource_id": demo.projects["chat-assistant"]},
        ),
        404,
    )
    assert_problem(admin.post("/v2/role-bindings", json=body | {"resource_type": "ORG"}), 422)
    bid = path_id(binding["id"])
    updated = admin.patch(f"/v2/role-bindings/{bid}", json={"role_id": demo.roles["READ_ONLY"]})
    assert updated.status_code == 200 and updated.json()["role_id"] == demo.roles["READ_ONLY"]
    assert_problem(
        admin.patch(f"/v2/role-bindings/{bid}", json={"role_id": viewer, "user_id": sam}), 422
    )
    assert admin.delete(f"/v2/role-bindings/{bid}").status_code == 204
    for method in ("GET", "DELETE"):
        assert_problem(admin.request(method, f"/v2/role-bindings/{bid}"), 404)
    assert_problem(admin.patch(f"/v2/role-bindings/{bid}", json={"role_id": viewer}), 404)


def test_role_binding_list_rules(
    admin: httpx.Client, demo: Demo, as_user: Callable[[str], httpx.Client]
) -> None:
    assert_problem(admin.get("/v2/role-bindings"), 400)
    assert_problem(
        admin.get(
            "/v2/role-bindings",
            params={"resource_type": "SPACE", "user_id": "VXNlcjo5OTk6YWJjZA=="},
        ),
        404,
    )
    lee = demo.users["lee.leaver@acme.example"]
    mine = admin.get(
        "/v2/role-bindings", params={"resource_type": "PROJECT", "user_id": lee}
    ).json()
    assert [b["resource_id"] for b in mine["role_bindings"]] == [demo.projects["fraud-model"]]
    # Members cannot read bindings they may not manage: an empty 200, not a 403.
    sam = as_user("sam@acme.example")
    listed = sam.get("/v2/role-bindings", params={"resource_type": "PROJECT"})
    assert listed.status_code == 200
    binding_id = mine["role_bindings"][0]["id"]
    assert_problem(sam.get(f"/v2/role-bindings/{path_id(binding_id)}"), 404)
    assert_problem(sam.delete(f"/v2/role-bindings/{path_id(binding_id)}"), 404)
    body = {
        "user_id": demo.users["sam@acme.example"],
        "role_id": demo.roles["Project Viewer"],
        "resource_type": "PROJECT",
        "resource_id": demo.projects["ranking-v2"],
    }
    assert_problem(sam.post("/v2/role-bindings", json=body), 403)


def test_restrict_is_idempotent_and_keyed_by_resource(admin: httpx.Client, demo: Demo) -> None:
    project = demo.projects["fraud-model"]
    first = admin.post("/v2/resource-restrictions", json={"resource_id": project})
    assert first.status_code == 200
    assert first.json()["resource_type"] == "PROJECT"
    assert set(first.json()) == {"resource_type", "resource_id", "created_at"}
    again = admin.post("/v2/resource-restrictions", json={"resource_id": project})
    assert again.status_code == 200 and again.json() == first.json()
    listed = admin.get("/v2/resource-restrictions", params={"resource_type": "PROJECT"}).json()
    assert [r["resource_id"] for r in listed["resource_restrictions"]] == [project]
    assert (
        admin.get("/v2/resource-restrictions", params={"resource_type": "PROMPT"}).json()[
            "resource_restrictions"
        ]
        == []
    )
    assert admin.delete(f"/v2/resource-restrictions/{path_id(project)}").status_code == 204
    assert_problem(admin.delete(f"/v2/resource-restrictions/{path_id(project)}"), 404)


@pytest.mark.parametrize("resource", ["space", "user", "junk"])
def test_only_projects_can_be_restricted(admin: httpx.Client, demo: Demo, resource: str) -> None:
    value = {
        "space": demo.spaces["ml-platform"],
        "user": demo.users["sam@acme.example"],
        "junk": "nope",
    }[resource]
    assert_problem(admin.post("/v2/resource-restrictions", json={"resource_id": value}), 400)
    assert_problem(
        admin.post("/v2/resource-restrictions", json={"resource_id": "TW9kZWw6OTk5OmFiY2Q="}), 404
    )


def test_restricted_project_is_reachable_only_by_admins_and_bound_users(
    arize: ArizeTarget, admin: httpx.Client, demo: Demo, as_user: Callable[[str], httpx.Client]
) -> None:
    fraud_model = demo.projects["fraud-model"]
    dana = as_user("dana@acme.example")  # fraud-detection MEMBER, no binding
    lee = as_user("lee.leaver@acme.example")  # fraud-detection MEMBER + PROJECT binding
    assert dana.get(f"/v2/projects/{path_id(fraud_model)}").status_code == 200
    assert_problem(dana.post("/v2/resource-restrictions", json={"resource_id": fraud_model}), 403)
    admin.post("/v2/resource-restrictions", json={"resource_id": fraud_model})
    assert_problem(dana.get(f"/v2/projects/{path_id(fraud_model)}"), 404)
    assert "fraud-model" not in [p["name"] for p in dana.get("/v2/projects").json()["projects"]]
    assert "payments-risk" in [p["name"] for p in dana.get("/v2/projects").json()["projects"]]
    assert lee.get(f"/v2/projects/{path_id(fraud_model)}").status_code == 200
    assert "fraud-model" in [p["name"] for p in lee.get("/v2/projects").json()["projects"]]
    assert admin.get(f"/v2/projects/{path_id(fraud_model)}").status_code == 200
    # A space admin keeps access; members with a binding of any role do too.
    space_admin = {"type": "PREDEFINED", "name": "ADMIN"}
    sam = demo.users["sam@acme.example"]
    admin.post(
        f"/v2/spaces/{path_id(demo.spaces['fraud-detection'])}/users",
        json={"user_id": sam, "role": space_admin},
    )
    assert as_user(sam).get(f"/v2/projects/{path_id(fraud_model)}").status_code == 200
    # Members cannot see or lift restrictions they may not manage.
    assert dana.get("/v2/resource-restrictions").json()["resource_restrictions"] == []
    assert_problem(dana.delete(f"/v2/resource-restrictions/{path_id(fraud_model)}"), 403)


def test_restriction_pages_may_be_short(
    admin: httpx.Client, demo: Demo, as_user: Callable[[str], httpx.Client]
) -> None:
    for name in ("fraud-model", "payments-risk", "ranking-v2", "chat-assistant"):
        admin.post("/v2/resource-restrictions", json={"resource_id": demo.projects[name]})
    sam = as_user("sam@acme.example")
    sam_id = demo.users["sam@acme.example"]
    admin.post(
        f"/v2/spaces/{path_id(demo.spaces['search-ranking'])}/users",
        json={"user_id": sam_id, "role": {"type": "PREDEFINED", "name": "ADMIN"}},
    )
    page = sam.get("/v2/resource-restrictions", params={"limit": 2}).json()
    assert page["resource_restrictions"] == []  # fraud-detection's two: not Sam's to manage
    assert page["pagination"]["has_more"] is True
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = sam.get("/v2/resource-restrictions", params=params).json()
        seen += [r["resource_id"] for r in body["resource_restrictions"]]
        cursor = body["pagination"].get("next_cursor")
        if not cursor:
            break
    assert seen == [demo.projects["ranking-v2"], demo.projects["chat-assistant"]]
