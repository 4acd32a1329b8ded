"""Drive every admin method of the official ``arize`` SDK (8.61) against an emulator.

Run with the fidelity venv's Python (it imports ``arize``, which the project does not
depend on): ``python sdk_walkthrough.py`` with ``EMULATOR_PORT`` and ``EMULATOR_ADMIN_KEY``
set. Prints one JSON line per step (``{"step": ..., "ok": true}``) and exits non-zero at
the first failed expectation. tests/emulator/test_official_clients.py runs it.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

for _name in list(os.environ):
    if _name.startswith("ARIZE_") or _name.lower() in {"http_proxy", "https_proxy", "all_proxy"}:
        del os.environ[_name]

from arize import ArizeClient  # noqa: E402
from arize._generated.api_client.models.organization_predefined_role_assignment_request import (  # noqa: E402
    OrganizationPredefinedRoleAssignmentRequest,
)
from arize._generated.api_client.models.organization_role_assignment_request import (  # noqa: E402
    OrganizationRoleAssignmentRequest,
)
from arize._generated.api_client.models.predefined_role_assignment_request import (  # noqa: E402
    PredefinedRoleAssignmentRequest,
)
from arize._generated.api_client.models.space_role_assignment_request import (  # noqa: E402
    SpaceRoleAssignmentRequest,
)
from arize.api_keys.types import OrgBinding, SpaceBinding  # noqa: E402
from arize.organizations.types import PredefinedOrgRole  # noqa: E402
from arize.spaces.types import CustomSpaceRole, PredefinedSpaceRole  # noqa: E402
from arize.users.types import InviteMode, PredefinedUserRole  # noqa: E402

PORT = int(os.environ["EMULATOR_PORT"])
ADMIN_KEY = os.environ["EMULATOR_ADMIN_KEY"]
client = ArizeClient(api_key=ADMIN_KEY, api_host="127.0.0.1", api_port=PORT, api_scheme="http")
results: list[dict[str, Any]] = []


def step(name: str, fn: Callable[[], Any]) -> Any:
    """Run one SDK call; record and print the outcome; stop at the first failure."""
    try:
        value = fn()
    except Exception as exc:
        print(json.dumps({"step": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"}))
        traceback.print_exc()
        sys.exit(1)
    print(json.dumps({"step": name, "ok": True}), flush=True)
    return value


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def expect_status(fn: Callable[[], Any], status: int) -> None:
    try:
        fn()
    except Exception as exc:
        found = getattr(exc, "status", None) or getattr(exc, "status_code", None)
        expect(found == status, f"expected HTTP {status}, got {type(exc).__name__}: {exc}")
        return
    raise AssertionError(f"expected HTTP {status}, call succeeded")


# ---------------------------------------------------------------- users
def users() -> dict[str, str]:
    listed = client.users.list()
    expect(len(listed.users) == 4 and listed.pagination.next_cursor is None, "4 demo users")
    by_email = {u.email: u.id for u in listed.users}
    dana = client.users.get(user="dana@acme.example")
    expect(dana is not None and dana.id == by_email["dana@acme.example"], "get by email")
    expect(client.users.get(user=by_email["sam@acme.example"]).name == "Sam Scientist", "get by id")
    created = client.users.create(
        name="Sdk User",
        email="sdk@acme.example",
        role=PredefinedUserRole(name="MEMBER"),
        invite_mode=InviteMode.TEMPORARY_PASSWORD,
    )
    expect(created.temporary_password is not None and created.status.value == "INVITED", "created")
    again = client.users.create(
        name="Sdk User",
        email="sdk@acme.example",
        role=PredefinedUserRole(name="MEMBER"),
        invite_mode=InviteMode.TEMPORARY_PASSWORD,
    )
    expect(again.id == created.id and again.temporary_password is None, "idempotent 200")
    paged = client.users.list(limit=2)
    expect(len(paged.users) == 2 and paged.pagination.next_cursor, "paged")
    rest = client.users.list(limit=2, cursor=paged.pagination.next_cursor)
    expect(len(rest.users) == 2, "second page")
    invited = client.users.list(status=["INVITED"])
    expect([u.email for u in invited.users] == ["sdk@acme.example"], "status filter")
    updated = client.users.update(user_id=created.id, name="Sdk Renamed", is_developer=False)
    expect(updated.name == "Sdk Renamed" and updated.is_developer is False, "update")
    client.users.resend_invitation(user_id=created.id)
    client.users.reset_password(user_id=by_email["dana@acme.example"])
    expect_status(lambda: client.users.reset_password(user_id=created.id), 400)
    expect_status(
        lambda: client.users.create(
            name="Dup",
            email="dana@acme.example",
            role=PredefinedUserRole(name="MEMBER"),
            invite_mode=InviteMode.EMAIL_LINK,
        ),
        409,
    )
    temp = client.users.create(
        name="Temp",
        email="temp@acme.example",
        role=PredefinedUserRole(name="MEMBER"),
        invite_mode=InviteMode.NONE,
    )
    expect(temp.status.value == "ACTIVE", "NONE is active")
    client.users.delete(user_id=temp.id)
    results = client.users.bulk_delete(emails=["sdk@acme.example", "nobody@acme.example"])
    statuses = sorted(str(getattr(r, "status", "")).lower() for r in results)
    expect(
        any("deleted" in s for s in statuses) and any("not_found" in s for s in statuses),
        str(statuses),
    )
    expect(client.users.get(user="sdk@acme.example") is None, "deleted users vanish")
    return by_email


# ---------------------------------------------------------------- organizations
def organizations(users_by_email: dict[str, str]) -> str:
    listed = client.organizations.list()
    expect([o.name for o in listed.organizations] == ["Acme"], "orgs")
    acme = client.organizations.get(organization="Acme")
    org = client.organizations.create(name="Sdk Org", description="made by the SDK")
    expect(org.description == "made by the SDK", "create")
    expect(client.organizations.get(organization=org.id).name == "Sdk Org", "get by id")
    renamed = client.organizations.update(organization="Sdk Org", name="Sdk Org 2")
    expect(renamed.description == "made by the SDK", "description kept when UNSET")
    cleared = client.organizations.update(organization=org.id, description=None)
    expect(cleared.description == "", "description=None clears")
    dana = users_by_email["dana@acme.example"]
    membership = client.organizations.add_user(
        organization=org.id, user_id=dana, role=PredefinedOrgRole(name="MEMBER")
    )
    expect(membership.user_id == dana and membership.role.name == "MEMBER", "add_user")
    upsert = client.organizations.add_user(
        organization=org.id, user_id=dana, role=PredefinedOrgRole(name="READ_ONLY")
    )
    expect(upsert.id == membership.id, "upsert")
    client.organizations.remove_user(organization=org.id, user_id=dana)
    expect_status(lambda: client.organizations.create(name="Acme"), 409)
    client.organizations.delete(organization=org.id)
    expect_status(lambda: client.organizations.get(organization=org.id), 404)
    return acme.id


# ---------------------------------------------------------------- spaces
def spaces(org_id: str, users_by_email: dict[str, str]) -> None:
    listed = client.spaces.list(organization_id=org_id)
    expect(
        {s.name for s in listed.spaces} == {"ml-platform", "fraud-detection", "search-ranking"},
        "spaces",
    )
    expect(client.spaces.list(name="fraud").spaces[0].name == "fraud-detection", "name filter")
    space = client.spaces.create(
        name="sdk-space", organization_id=org_id, description="d", is_private=True
    )
    expect(space.is_private is True and space.organization_id == org_id, "create")
    expect(client.spaces.get(space="sdk-space").id == space.id, "get by name")
    updated = client.spaces.update(
        space=space.id, name="sdk-space-2", is_private=False, ml_models_enabled=False
    )
    expect(updated.name == "sdk-space-2" and updated.is_private is False, "update")
    expect(
        client.spaces.update(space=space.id, description=None).description == "",
        "clear description",
    )
    sam = users_by_email["sam@acme.example"]
    member = client.spaces.add_user(
        space="sdk-space-2", user_id=sam, role=PredefinedSpaceRole(name="MEMBER")
    )
    expect(member.space_id == space.id and member.role.name == "MEMBER", "add_user")
    editor = client.roles.get(role="Space Editor")
    custom = client.spaces.add_user(space=space.id, user_id=sam, role=CustomSpaceRole(id=editor.id))
    expect(custom.role.id == editor.id, "custom role")
    client.spaces.remove_user(space=space.id, user_id=sam)
    expect_status(lambda: client.spaces.remove_user(space=space.id, user_id=sam), 404)
    client.spaces.delete(space=space.id)
    expect_status(lambda: client.spaces.get(space=space.id), 404)


# ---------------------------------------------------------------- projects
def projects() -> None:
    listed = client.projects.list()
    expect(len(listed.projects) == 5, "projects")
    fraud = client.projects.list(space="fraud-detection")
    expect(
        {p.name for p in fraud.projects} == {"fraud-model", "payments-risk"}, "space_name filter"
    )
    created = client.projects.create(name="sdk-project", space="fraud-detection")
    expect(created.project_type is not None and created.project_type.value == "APPLICATION", "type")
    got = client.projects.get(project="sdk-project", space="fraud-detection")
    expect(got.id == created.id, "get by name")
    renamed = client.projects.update(project=created.id, name="sdk-project-2")
    expect(renamed.name == "sdk-project-2", "rename")
    client.projects.delete(project="sdk-project-2", space="fraud-detection")
    expect_status(lambda: client.projects.get(project=created.id), 404)


# ---------------------------------------------------------------- roles and bindings
def roles_and_bindings(users_by_email: dict[str, str]) -> None:
    every = client.roles.list(limit=100)
    expect({"Project Viewer", "Space Editor", "ADMIN"} <= {r.name for r in every.roles}, "roles")
    expect(all(r.is_predefined for r in client.roles.list(is_predefined=True).roles), "predefined")
    role = client.roles.create(
        name="Sdk Role", permissions=["PROJECT_READ", "SPACE_READ"], description="x"
    )
    expect(sorted(p.value for p in role.permissions) == ["PROJECT_READ", "SPACE_READ"], "create")
    expect(client.roles.get(role="Sdk Role").id == role.id, "get by name")
    updated = client.roles.update(role=role.id, permissions=["DATASET_READ"], description=None)
    expect(
        [p.value for p in updated.permissions] == ["DATASET_READ"] and not updated.description,
        "update",
    )
    expect_status(lambda: client.roles.create(name="Sdk Role", permissions=["PROJECT_READ"]), 409)
    sam = users_by_email["sam@acme.example"]
    project = client.projects.get(project="ranking-v2", space="search-ranking")
    binding = client.role_bindings.create(
        user_id=sam, role_id=role.id, resource_type="PROJECT", resource_id=project.id
    )
    expect(binding.resource_id == project.id, "binding")
    expect(client.role_bindings.get(binding_id=binding.id).id == binding.id, "get binding")
    listed = client.role_bindings.list(resource_type="PROJECT", user_id=sam)
    expect([b.id for b in listed.role_bindings] == [binding.id], "list bindings")
    viewer = client.roles.get(role="Project Viewer")
    expect(
        client.role_bindings.update(binding_id=binding.id, role_id=viewer.id).role_id == viewer.id,
        "update",
    )
    expect_status(
        lambda: client.role_bindings.create(
            user_id=sam, role_id=role.id, resource_type="PROJECT", resource_id=project.id
        ),
        409,
    )
    expect_status(lambda: client.roles.delete(role=viewer.id), 409)
    client.role_bindings.delete(binding_id=binding.id)
    expect_status(lambda: client.role_bindings.get(binding_id=binding.id), 404)
    client.roles.delete(role="Sdk Role")
    space_bindings = client.role_bindings.list(resource_type="SPACE", user_id=sam)
    expect(len(space_bindings.role_bindings) == 1, "membership as a SPACE binding")


# ---------------------------------------------------------------- restrictions
def restrictions() -> None:
    project = client.projects.get(project="fraud-model", space="fraud-detection")
    restriction = client.resource_restrictions.restrict(resource_id=project.id)
    expect(restriction.resource_type.value == "PROJECT", "restrict")
    again = client.resource_restrictions.restrict(resource_id=project.id)
    expect(again.resource_id == project.id, "idempotent")
    listed = client.resource_restrictions.list(resource_type="PROJECT")
    expect([r.resource_id for r in listed.resource_restrictions] == [project.id], "list")
    client.resource_restrictions.unrestrict(resource_id=project.id)
    expect_status(lambda: client.resource_restrictions.unrestrict(resource_id=project.id), 404)


# ---------------------------------------------------------------- API keys
def api_keys(org_id: str) -> None:
    created = client.api_keys.create(
        name="sdk-key", description="d", expires_at=datetime.now(UTC) + timedelta(days=30)
    )
    expect(
        created.key and getattr(created.key_type, "value", created.key_type) == "USER", "user key"
    )
    naive = client.api_keys.create(name="sdk-naive", expires_at=datetime.now() + timedelta(days=3))
    expect(naive.expires_at is not None, "naive expiry accepted")
    service = client.api_keys.create_service_key(
        name="sdk-service",
        orgs=[
            OrgBinding(
                org_id=org_id,
                role=OrganizationRoleAssignmentRequest(
                    OrganizationPredefinedRoleAssignmentRequest(type="PREDEFINED", name="READ_ONLY")
                ),
                spaces=[
                    SpaceBinding(
                        space="search-ranking",
                        role=SpaceRoleAssignmentRequest(
                            PredefinedRoleAssignmentRequest(type="PREDEFINED", name="MEMBER")
                        ),
                    ),
                    SpaceBinding(space="fraud-detection"),
                ],
            )
        ],
        description="made by the SDK",
    )
    expect(
        service.key and service.bot_user.id and len(service.bot_user.organizations) == 1,
        "service key",
    )
    mine = client.api_keys.list()
    expect(
        {"admin", "sdk-key", "sdk-naive"} <= {k.actual_instance.name for k in mine.api_keys},
        "list user keys",
    )
    in_space = client.api_keys.list(space="search-ranking")
    names = {k.actual_instance.name for k in in_space.api_keys}
    expect(names == {"etl-search-ranking", "lee-etl", "sdk-service"}, str(names))
    every_service = client.api_keys.list(key_type="SERVICE", limit=100)
    expect(len(every_service.api_keys) == 4, "service keys")
    refreshed = client.api_keys.refresh(api_key_id=service.id, grace_period_seconds=300)
    expect(refreshed.id == service.id and refreshed.key != service.key, "refresh")
    bounded = client.api_keys.refresh(
        api_key_id=created.id, expires_at=datetime.now(UTC) + timedelta(days=10)
    )
    expect(bounded.key, "refresh with expiry")
    expect_status(
        lambda: client.api_keys.refresh(
            api_key_id=created.id, expires_at=datetime.now(UTC) + timedelta(days=60)
        ),
        422,
    )
    client.api_keys.revoke(api_key_id=created.id)
    client.api_keys.revoke(api_key_id=created.id)
    revoked = client.api_keys.list(status="REVOKED")
    expect([k.actual_instance.id for k in revoked.api_keys] == [created.id], "revoked")
    client.api_keys.revoke(api_key_id=service.id)


# ---------------------------------------------------------------- audit logs
def audit_logs() -> None:
    now = datetime.now(UTC)
    logs = client.audit_logs.list(
        start_time=now - timedelta(hours=1), end_time=now + timedelta(hours=1), limit=100
    )
    expect(len(logs.logs) > 20, f"{len(logs.logs)} audit entries")
    naive = client.audit_logs.list(start_time=datetime.now() - timedelta(hours=1))
    expect(len(naive.logs) > 0, "naive start_time")
    only = client.audit_logs.list(
        operation_names=["createRole", "deleteRole"], operation_type="MUTATION"
    )
    expect({log.operation_name for log in only.logs} == {"createRole", "deleteRole"}, "filters")


def main() -> None:
    by_email = step("users", users)
    org_id = step("organizations", lambda: organizations(by_email))
    step("spaces", lambda: spaces(org_id, by_email))
    step("projects", projects)
    step("roles_and_bindings", lambda: roles_and_bindings(by_email))
    step("resource_restrictions", restrictions)
    step("api_keys", lambda: api_keys(org_id))
    step("audit_logs", audit_logs)


if __name__ == "__main__":
    main()
