"""Drive every admin command of the official ``ax`` CLI (0.39) against an emulator.

Run with the fidelity venv's Python, with ``HOME`` pointing at a directory that holds an
``ax`` profile for the emulator. Commands run in this one process
through typer's ``CliRunner`` (the installed ``ax`` script is ``ax.cli:app``; a process per
command would cost seconds each); test_official_clients.py also runs the real ``ax``
executable for a few of them. Prints one JSON line per command with its exit code and
exits non-zero at the first unexpected result.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

for _name in list(os.environ):
    if _name.startswith("ARIZE_") or _name.lower() in {"http_proxy", "https_proxy", "all_proxy"}:
        del os.environ[_name]

from ax.cli import app  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

runner = CliRunner()
count = 0


def ax(*args: str, code: int = 0) -> Any:
    """Run one ``ax`` command; check its exit code; return its JSON stdout (or text)."""
    global count
    count += 1
    result = runner.invoke(app, list(args), catch_exceptions=True)
    ok = result.exit_code == code
    line = {"cmd": " ".join(args[:3]), "exit": result.exit_code, "ok": ok}
    if not ok:
        line["stdout"] = result.stdout[-2000:]
        line["stderr"] = getattr(result, "stderr", "")[-2000:]
        if result.exception and not isinstance(result.exception, SystemExit):
            line["exception"] = repr(result.exception)
        print(json.dumps(line), flush=True)
        sys.exit(1)
    print(json.dumps(line), flush=True)
    text = result.stdout.strip()
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return text


def expect(condition: bool, message: str) -> None:
    if not condition:
        print(json.dumps({"cmd": "expect", "ok": False, "error": message}), flush=True)
        sys.exit(1)


def unwrap(item: dict[str, Any]) -> dict[str, Any]:
    """``ax api-keys list`` JSON shows the oneOf wrapper."""
    return item.get("actual_instance", item)


def main() -> None:
    # users
    users = ax("users", "list")["users"]
    by_email = {u["email"]: u["id"] for u in users}
    expect(len(by_email) == 4, "4 demo users")
    expect(
        ax("users", "get", "dana@acme.example")["id"] == by_email["dana@acme.example"],
        "get by email",
    )
    expect(ax("users", "get", by_email["sam@acme.example"])["name"] == "Sam Scientist", "get by id")
    ax("users", "get", "nobody@acme.example", code=4)
    created = ax(
        "users",
        "create",
        "--full-name",
        "Cli User",
        "--email",
        "cli@acme.example",
        "--role",
        "MEMBER",
        "--invite-mode",
        "TEMPORARY_PASSWORD",
    )
    expect(bool(created.get("temporary_password")), "temporary password shown")
    ax(
        "users",
        "create",
        "--full-name",
        "Dana",
        "--email",
        "dana@acme.example",
        "--role",
        "MEMBER",
        "--invite-mode",
        "EMAIL_LINK",
        code=4,
    )
    expect(len(ax("users", "list", "--status", "INVITED")["users"]) == 1, "status filter")
    expect(len(ax("users", "list", "--email", "acme", "--limit", "2")["users"]) == 2, "limit")
    ax("users", "update", created["id"], "--full-name", "Cli Renamed", "--is-not-developer")
    ax("users", "resend-invitation", created["id"])
    ax("users", "reset-password", by_email["dana@acme.example"])
    ax("users", "reset-password", created["id"], code=4)
    ax("users", "delete", "--email", "cli@acme.example", "--force")
    ax("users", "get", created["id"], code=4)

    # organizations
    orgs = ax("organizations", "list")["organizations"]
    org_id = orgs[0]["id"]
    expect(ax("organizations", "get", "Acme")["id"] == org_id, "org by name")
    new_org = ax("organizations", "create", "--name", "Cli Org", "--description", "d")
    ax("organizations", "create", "--name", "Cli Org", code=4)
    updated = ax("organizations", "update", "Cli Org", "--name", "Cli Org 2")
    expect(updated["description"] == "", "the CLI's implicit description=null clears it")
    ax(
        "organizations",
        "add-user",
        new_org["id"],
        "--user-id",
        by_email["dana@acme.example"],
        "--role",
        "MEMBER",
    )
    ax(
        "organizations",
        "remove-user",
        "Cli Org 2",
        "--user-id",
        by_email["dana@acme.example"],
        "--force",
    )
    ax("organizations", "delete", "Cli Org 2", "--force")
    ax("organizations", "get", new_org["id"], code=4)

    # spaces
    spaces = ax("spaces", "list", "--organization-id", org_id)["spaces"]
    expect(
        {s["name"] for s in spaces} == {"ml-platform", "fraud-detection", "search-ranking"},
        "spaces",
    )
    expect(ax("spaces", "get", "fraud-detection")["name"] == "fraud-detection", "space by name")
    space = ax(
        "spaces", "create", "--name", "cli-space", "--organization-id", org_id, "--description", "d"
    )
    ax("spaces", "create", "--name", "cli-space", "--organization-id", org_id, code=4)
    ax("spaces", "update", "cli-space", "--name", "cli-space-2", "--description", "new")
    ax(
        "spaces",
        "add-user",
        "cli-space-2",
        "--user-id",
        by_email["sam@acme.example"],
        "--role",
        "READ_ONLY",
    )
    ax("spaces", "remove-user", space["id"], "--user-id", by_email["sam@acme.example"], "--force")
    ax(
        "spaces",
        "remove-user",
        space["id"],
        "--user-id",
        by_email["sam@acme.example"],
        "--force",
        code=4,
    )
    ax("spaces", "delete", "cli-space-2", "--force")
    ax("spaces", "get", "cli-space-2", code=4)

    # projects
    expect(len(ax("projects", "list", "--limit", "100")["projects"]) == 5, "projects")
    in_space = ax("projects", "list", "--space", "search-ranking")["projects"]
    expect({p["name"] for p in in_space} == {"ranking-v2", "chat-assistant"}, "projects by space")
    project = ax("projects", "create", "--name", "cli-project", "--space", "fraud-detection")
    expect(
        ax("projects", "get", "cli-project", "--space", "fraud-detection")["id"] == project["id"],
        "get",
    )
    ax("projects", "update", project["id"], "--name", "cli-project-2")
    ax("projects", "get", "cli-project", code=4)  # a name without --space cannot be resolved
    ax("projects", "delete", "cli-project-2", "--space", "fraud-detection", "--force")

    # roles
    roles = ax("roles", "list", "--limit", "100")["roles"]
    expect({"Project Viewer", "Space Editor", "ADMIN"} <= {r["name"] for r in roles}, "roles")
    custom = ax("roles", "list", "--is-custom")["roles"]
    expect(all(not r["is_predefined"] for r in custom), "custom only")
    role = ax(
        "roles",
        "create",
        "--name",
        "Cli Role",
        "--permissions",
        "PROJECT_READ,SPACE_READ",
        "--description",
        "d",
    )
    ax("roles", "create", "--name", "Cli Role", "--permissions", "PROJECT_READ", code=4)
    ax("roles", "create", "--name", "Bad", "--permissions", "NOT_A_PERMISSION", code=2)
    updated_role = ax("roles", "update", "Cli Role", "--permissions", "DATASET_READ")
    expect(updated_role["permissions"] == ["DATASET_READ"], "permissions replaced")
    expect(ax("roles", "get", role["id"])["name"] == "Cli Role", "role get")

    # role bindings
    viewer = ax("roles", "get", "Project Viewer")
    ranking = ax("projects", "get", "ranking-v2", "--space", "search-ranking")
    binding = ax(
        "role-bindings",
        "create",
        "--user-id",
        by_email["sam@acme.example"],
        "--role-id",
        role["id"],
        "--resource-type",
        "PROJECT",
        "--resource-id",
        ranking["id"],
    )
    ax(
        "role-bindings",
        "create",
        "--user-id",
        by_email["sam@acme.example"],
        "--role-id",
        role["id"],
        "--resource-type",
        "PROJECT",
        "--resource-id",
        ranking["id"],
        code=4,
    )
    listed = ax(
        "role-bindings",
        "list",
        "--resource-type",
        "PROJECT",
        "--user-id",
        by_email["sam@acme.example"],
    )
    expect([b["id"] for b in listed["role_bindings"]] == [binding["id"]], "binding listed")
    expect(ax("role-bindings", "get", binding["id"])["role_id"] == role["id"], "binding get")
    ax("role-bindings", "update", binding["id"], "--role-id", viewer["id"])
    ax("roles", "delete", "Project Viewer", "--force", code=4)  # still bound: 409
    ax("role-bindings", "delete", binding["id"], "--force")
    ax("role-bindings", "get", binding["id"], code=4)
    ax("roles", "delete", "Cli Role", "--force")

    # resource restrictions
    fraud_model = ax("projects", "get", "fraud-model", "--space", "fraud-detection")
    restriction = ax("resource-restrictions", "restrict", "--resource-id", fraud_model["id"])
    expect(restriction["resource_type"] == "PROJECT", "restricted")
    ax("resource-restrictions", "restrict", "--resource-id", fraud_model["id"])
    listed = ax("resource-restrictions", "list", "--resource-type", "PROJECT")
    expect(
        [r["resource_id"] for r in listed["resource_restrictions"]] == [fraud_model["id"]], "list"
    )
    ax("resource-restrictions", "restrict", "--resource-id", org_id, code=4)
    ax("resource-restrictions", "unrestrict", "--resource-id", fraud_model["id"], "--force")
    ax("resource-restrictions", "unrestrict", "--resource-id", fraud_model["id"], "--force", code=4)

    # api keys
    key = ax(
        "api-keys",
        "create",
        "--name",
        "cli-key",
        "--description",
        "d",
        "--expires-at",
        "2099-01-01",
    )
    expect(key["key"].startswith("ak-") and key["key_type"] == "USER", "user key")
    assignments = json.dumps(
        [
            {
                "org_id": org_id,
                "role": "READ_ONLY",
                "spaces": [
                    {"space": "search-ranking", "role": "MEMBER"},
                    {"space": "fraud-detection"},
                ],
            }
        ]
    )
    service = ax(
        "api-keys",
        "create-service-key",
        "--name",
        "cli-service",
        "--assignments",
        assignments,
        "--account-role",
        "MEMBER",
        "--description",
        "d",
    )
    expect(bool(service["key"]) and service["bot_user"]["organizations"], "service key")
    ax(
        "api-keys",
        "create-service-key",
        "--name",
        "bad",
        "--assignments",
        assignments,
        "--account-role",
        "ANNOTATOR",
        code=4,
    )
    mine = [unwrap(k) for k in ax("api-keys", "list")["api_keys"]]
    expect({"admin", "cli-key"} <= {k["name"] for k in mine}, "list user keys")
    service_keys = [
        unwrap(k)
        for k in ax("api-keys", "list", "--key-type", "SERVICE", "--limit", "100")["api_keys"]
    ]
    expect(
        {"ci-fraud-detection", "etl-search-ranking", "lee-etl", "cli-service"}
        == {k["name"] for k in service_keys},
        "service keys",
    )
    refreshed = ax("api-keys", "refresh", service["id"], "--grace-period-seconds", "300")
    expect(refreshed["id"] == service["id"] and refreshed["key"] != service["key"], "refresh")
    ax("api-keys", "refresh", key["id"], "--grace-period-seconds", "60", code=4)  # bounded key: 422
    ax("api-keys", "refresh", key["id"], "--expires-at", "2098-01-01")
    ax("api-keys", "revoke", key["id"], "--force")
    ax("api-keys", "revoke", key["id"], "--force")
    revoked = [unwrap(k) for k in ax("api-keys", "list", "--status", "REVOKED")["api_keys"]]
    expect([k["id"] for k in revoked] == [key["id"]], "revoked listed")
    etl = next(k for k in service_keys if k["name"] == "etl-search-ranking")
    ax("api-keys", "refresh", etl["id"], "--expires-at", "2099-01-01", code=4)  # extends: 422
    ax("api-keys", "revoke", service["id"], "--force")
    print(json.dumps({"commands": count}), flush=True)


if __name__ == "__main__":
    main()
