"""Organizations, spaces and projects: names, upserts, cascades."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.emulator.conftest import Demo, assert_problem, path_id
from tests.fixtures.arize import ArizeTarget

MEMBER = {"type": "PREDEFINED", "name": "MEMBER"}


def test_org_names_are_unique(admin: httpx.Client) -> None:
    assert_problem(admin.post("/v2/organizations", json={"name": "Acme"}), 409)
    other = admin.post("/v2/organizations", json={"name": "Beta"}).json()
    assert other["description"] == ""
    assert_problem(
        admin.patch(f"/v2/organizations/{path_id(other['id'])}", json={"name": "Acme"}), 409
    )
    assert_problem(admin.patch(f"/v2/organizations/{path_id(other['id'])}", json={}), 400)


def test_org_description_null_clears(admin: httpx.Client, demo: Demo) -> None:
    org = path_id(demo.org)
    assert (
        admin.patch(f"/v2/organizations/{org}", json={"description": "x"}).json()["description"]
        == "x"
    )
    cleared = admin.patch(f"/v2/organizations/{org}", json={"name": "Acme", "description": None})
    assert cleared.json()["description"] == ""


def test_org_list_filter_and_visibility(
    admin: httpx.Client, as_user: Callable[[str], httpx.Client]
) -> None:
    admin.post("/v2/organizations", json={"name": "Acme Labs"})
    names = [
        o["name"]
        for o in admin.get("/v2/organizations", params={"name": "acme"}).json()["organizations"]
    ]
    assert names == ["Acme", "Acme Labs"]
    dana = as_user("dana@acme.example")
    assert [o["name"] for o in dana.get("/v2/organizations").json()["organizations"]] == ["Acme"]
    assert_problem(dana.post("/v2/organizations", json={"name": "Mine"}), 403)


def test_add_org_user_upserts(admin: httpx.Client, demo: Demo) -> None:
    org = path_id(demo.org)
    sam = demo.users["sam@acme.example"]
    first = admin.post(f"/v2/organizations/{org}/users", json={"user_id": sam, "role": MEMBER})
    assert first.status_code == 200
    second = admin.post(
        f"/v2/organizations/{org}/users",
        json={"user_id": sam, "role": {"type": "PREDEFINED", "name": "READ_ONLY"}},
    )
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json() | {"role": None} == {
        "id": first.json()["id"],
        "user_id": sam,
        "organization_id": demo.org,
        "role": None,
    }
    assert second.json()["role"] == {"type": "PREDEFINED", "name": "READ_ONLY"}


def test_annotator_rules(admin: httpx.Client, demo: Demo) -> None:
    org = path_id(demo.org)
    ann = admin.post(
        "/v2/users",
        json={
            "name": "Ann",
            "email": "ann@acme.example",
            "role": {"type": "PREDEFINED", "name": "ANNOTATOR"},
            "invite_mode": "NONE",
        },
    ).json()["id"]
    assert_problem(
        admin.post(f"/v2/organizations/{org}/users", json={"user_id": ann, "role": MEMBER}), 400
    )
    annotator = {"type": "PREDEFINED", "name": "ANNOTATOR"}
    assert (
        admin.post(
            f"/v2/organizations/{org}/users", json={"user_id": ann, "role": annotator}
        ).status_code
        == 200
    )
    dana = demo.users["dana@acme.example"]
    assert_problem(
        admin.post(f"/v2/organizations/{org}/users", json={"user_id": dana, "role": annotator}), 400
    )
    space = path_id(demo.spaces["ml-platform"])
    assert_problem(
        admin.post(f"/v2/spaces/{space}/users", json={"user_id": ann, "role": MEMBER}), 400
    )
    assert (
        admin.post(
            f"/v2/spaces/{space}/users", json={"user_id": ann, "role": annotator}
        ).status_code
        == 200
    )


def test_space_add_user_requires_org_membership(admin: httpx.Client, demo: Demo) -> None:
    outsider = admin.post(
        "/v2/users",
        json={"name": "Out", "email": "out@acme.example", "role": MEMBER, "invite_mode": "NONE"},
    ).json()["id"]
    space = path_id(demo.spaces["ml-platform"])
    assert_problem(
        admin.post(f"/v2/spaces/{space}/users", json={"user_id": outsider, "role": MEMBER}),
        400,
        detail="organization",
    )
    assert_problem(
        admin.post(
            f"/v2/spaces/{space}/users", json={"user_id": "VXNlcjo5OTk6YWJjZA==", "role": MEMBER}
        ),
        404,
    )


def test_space_membership_is_a_space_role_binding(admin: httpx.Client, demo: Demo) -> None:
    space_id = demo.spaces["ml-platform"]
    sam = demo.users["sam@acme.example"]
    custom = {"type": "CUSTOM", "id": demo.roles["Space Editor"]}
    added = admin.post(
        f"/v2/spaces/{path_id(space_id)}/users", json={"user_id": sam, "role": custom}
    )
    assert added.status_code == 200
    assert added.json()["role"] == custom | {"name": "Space Editor"}
    bindings = admin.get(
        "/v2/role-bindings", params={"resource_type": "SPACE", "user_id": sam}
    ).json()
    on_space = [b for b in bindings["role_bindings"] if b["resource_id"] == space_id]
    assert [b["role_id"] for b in on_space] == [demo.roles["Space Editor"]]
    admin.post(f"/v2/spaces/{path_id(space_id)}/users", json={"user_id": sam, "role": MEMBER})
    bindings = admin.get(
        "/v2/role-bindings", params={"resource_type": "SPACE", "user_id": sam}
    ).json()
    on_space = [b for b in bindings["role_bindings"] if b["resource_id"] == space_id]
    assert [b["role_id"] for b in on_space] == [demo.roles["MEMBER"]]
    dup = {
        "user_id": sam,
        "role_id": demo.roles["READ_ONLY"],
        "resource_type": "SPACE",
        "resource_id": space_id,
    }
    assert_problem(admin.post("/v2/role-bindings", json=dup), 409)


def test_space_remove_user_removes_bindings(admin: httpx.Client, demo: Demo) -> None:
    fraud = demo.spaces["fraud-detection"]
    dana = demo.users["dana@acme.example"]
    assert admin.delete(f"/v2/spaces/{path_id(fraud)}/users/{path_id(dana)}").status_code == 204
    bindings = admin.get(
        "/v2/role-bindings", params={"resource_type": "SPACE", "user_id": dana}
    ).json()
    assert bindings["role_bindings"] == []
    assert_problem(admin.delete(f"/v2/spaces/{path_id(fraud)}/users/{path_id(dana)}"), 404)


def test_space_names_unique_per_org(admin: httpx.Client, demo: Demo) -> None:
    assert_problem(
        admin.post("/v2/spaces", json={"name": "ml-platform", "organization_id": demo.org}), 409
    )
    other = admin.post("/v2/organizations", json={"name": "Other"}).json()["id"]
    same_name = admin.post("/v2/spaces", json={"name": "ml-platform", "organization_id": other})
    assert same_name.status_code == 201
    assert same_name.json()["is_private"] is False
    assert_problem(
        admin.post(
            "/v2/spaces", json={"name": "x", "organization_id": "T3JnYW5pemF0aW9uOjk5OTphYmNk"}
        ),
        404,
    )


def test_space_update_rules(admin: httpx.Client, demo: Demo) -> None:
    space = path_id(demo.spaces["ml-platform"])
    assert_problem(admin.patch(f"/v2/spaces/{space}", json={}), 400)
    assert_problem(admin.patch(f"/v2/spaces/{space}", json={"description": ""}), 400)
    assert_problem(admin.patch(f"/v2/spaces/{space}", json={"name": "fraud-detection"}), 409)
    body = admin.patch(
        f"/v2/spaces/{space}",
        json={
            "default_llm_integration": {"integration_id": "i1", "model_name": "gpt"},
            "description": None,
        },
    ).json()
    assert body["default_llm_integration"] == {"integration_id": "i1", "model_name": "gpt"}
    assert body["description"] == ""
    cleared = admin.patch(f"/v2/spaces/{space}", json={"default_llm_integration": None}).json()
    assert "default_llm_integration" not in cleared


def test_private_spaces_are_hidden_from_non_members(
    admin: httpx.Client, demo: Demo, as_user: Callable[[str], httpx.Client]
) -> None:
    space = demo.spaces["ml-platform"]
    sam = as_user("sam@acme.example")
    assert sam.get(f"/v2/spaces/{path_id(space)}").status_code == 200
    admin.patch(f"/v2/spaces/{path_id(space)}", json={"is_private": True})
    assert_problem(sam.get(f"/v2/spaces/{path_id(space)}"), 404)
    names = [s["name"] for s in sam.get("/v2/spaces").json()["spaces"]]
    assert "ml-platform" not in names


def test_space_filters(admin: httpx.Client, demo: Demo) -> None:
    by_org = admin.get("/v2/spaces", params={"org_id": demo.org}).json()["spaces"]
    assert len(by_org) == 3
    by_name = admin.get("/v2/spaces", params={"name": "DETECT"}).json()["spaces"]
    assert [s["name"] for s in by_name] == ["fraud-detection"]
    assert_problem(admin.get("/v2/spaces", params={"org_id": "T3JnYW5pemF0aW9uOjk5OTphYmNk"}), 404)


def test_org_remove_user_cascades_to_spaces(
    arize: ArizeTarget, admin: httpx.Client, demo: Demo
) -> None:
    lee = demo.users["lee.leaver@acme.example"]
    assert (
        admin.delete(f"/v2/organizations/{path_id(demo.org)}/users/{path_id(lee)}").status_code
        == 204
    )
    state = arize.control("GET", "state")
    assert all(m["user_id"] != lee for m in state["space_members"].values())
    assert all(
        not (b["user_id"] == lee and b["resource_type"] == "SPACE")
        for b in state["bindings"].values()
    )
    assert_problem(admin.delete(f"/v2/organizations/{path_id(demo.org)}/users/{path_id(lee)}"), 404)


def test_delete_space_removes_projects(arize: ArizeTarget, admin: httpx.Client, demo: Demo) -> None:
    fraud = demo.spaces["fraud-detection"]
    admin.post("/v2/resource-restrictions", json={"resource_id": demo.projects["fraud-model"]})
    assert admin.delete(f"/v2/spaces/{path_id(fraud)}").status_code == 204
    assert_problem(admin.get(f"/v2/projects/{path_id(demo.projects['fraud-model'])}"), 404)
    state = arize.control("GET", "state")
    assert state["restrictions"] == {}
    assert all(
        b["resource_id"] not in (fraud, demo.projects["fraud-model"])
        for b in state["bindings"].values()
    )
    assert_problem(admin.delete(f"/v2/spaces/{path_id(fraud)}"), 404)


def test_delete_org_removes_spaces_and_service_keys(
    arize: ArizeTarget, admin: httpx.Client, demo: Demo
) -> None:
    assert admin.delete(f"/v2/organizations/{path_id(demo.org)}").status_code == 204
    assert admin.get("/v2/spaces").json()["spaces"] == []
    assert admin.get("/v2/projects").json()["projects"] == []
    service = admin.get("/v2/api-keys", params={"key_type": "SERVICE"}).json()["api_keys"]
    assert service == []


def test_org_admin_rules(
    admin: httpx.Client, demo: Demo, as_user: Callable[[str], httpx.Client]
) -> None:
    dana = as_user("dana@acme.example")
    assert_problem(dana.patch(f"/v2/organizations/{path_id(demo.org)}", json={"name": "X"}), 403)
    assert_problem(dana.delete(f"/v2/organizations/{path_id(demo.org)}"), 403)
    sam = demo.users["sam@acme.example"]
    assert_problem(
        dana.post(
            f"/v2/organizations/{path_id(demo.org)}/users", json={"user_id": sam, "role": MEMBER}
        ),
        403,
    )
    assert_problem(dana.post("/v2/spaces", json={"name": "mine", "organization_id": demo.org}), 403)
    assert_problem(dana.delete(f"/v2/spaces/{path_id(demo.spaces['fraud-detection'])}"), 403)


def test_projects(admin: httpx.Client, demo: Demo, as_user: Callable[[str], httpx.Client]) -> None:
    fraud = demo.spaces["fraud-detection"]
    created = admin.post("/v2/projects", json={"name": "new-model", "space_id": fraud})
    assert created.status_code == 201
    assert created.json()["project_type"] == "APPLICATION"
    assert_problem(admin.post("/v2/projects", json={"name": "new-model", "space_id": fraud}), 409)
    assert_problem(
        admin.post("/v2/projects", json={"name": "x", "space_id": "U3BhY2U6OTk5OmFiY2Q="}), 403
    )
    assert_problem(admin.post("/v2/projects", json={"name": "x", "space_id": "junk"}), 400)
    pid = path_id(created.json()["id"])
    assert admin.patch(f"/v2/projects/{pid}", json={"name": "renamed"}).json()["name"] == "renamed"
    assert_problem(admin.patch(f"/v2/projects/{pid}", json={}), 422)
    assert_problem(admin.patch(f"/v2/projects/{pid}", json={"name": "fraud-model"}), 409)
    by_space_name = admin.get("/v2/projects", params={"space_name": "fraud"}).json()["projects"]
    assert {p["name"] for p in by_space_name} == {"fraud-model", "payments-risk", "renamed"}
    by_space = admin.get("/v2/projects", params={"space_id": fraud, "name": "RISK"}).json()[
        "projects"
    ]
    assert [p["name"] for p in by_space] == ["payments-risk"]
    assert admin.get("/v2/projects", params={"project_type": "HARNESS"}).json()["projects"] == []
    sam = as_user("sam@acme.example")
    assert_problem(sam.post("/v2/projects", json={"name": "nope", "space_id": fraud}), 403)
    search = demo.spaces["search-ranking"]
    assert (
        sam.post("/v2/projects", json={"name": "sam-model", "space_id": search}).status_code == 201
    )
    assert admin.delete(f"/v2/projects/{pid}").status_code == 204
    assert_problem(admin.delete(f"/v2/projects/{pid}"), 404)
