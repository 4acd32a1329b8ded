"""The emulator's SAML collections as raw HTTP sees them: problem bodies, the audit log, the
control plane (state, request counts, faults) and persistence across a restart; and, in
process, how a login evaluates the mappings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from emulator.arize import ArizeEmulatorServer
from emulator.arize.models import SamlIdentityProvider, SamlRoleMapping, utcnow
from emulator.arize.resources.saml_login import evaluate
from emulator.arize.store import predefined
from tests.emulator.conftest import Demo, assert_problem, path_id
from tests.fixtures.arize import ArizeTarget

METADATA_XML = (
    '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:idp:test">'
    "<IDPSSODescriptor/></EntityDescriptor>"
)
PATH = "/v2/saml-identity-providers"


def _body(**extra: Any) -> dict[str, Any]:
    return {
        "name": "okta",
        "metadata_xml": METADATA_XML,
        "email_domains": ["acme.io"],
        "role_mappings": [
            {"attribute_name": "groups", "attribute_value": "admins", "account_role": "ADMIN"},
            {"attribute_name": "groups", "attribute_value": "staff", "account_role": "MEMBER"},
        ],
    } | extra


def test_errors_are_problem_details(admin: httpx.Client, anon: httpx.Client) -> None:
    assert_problem(anon.get(PATH), 401)
    assert_problem(admin.get(f"{PATH}/{path_id('not-an-id')}"), 400, detail="idp_id")
    created = admin.post(PATH, json=_body()).json()
    gone = created["id"]
    assert admin.delete(f"{PATH}/{path_id(gone)}").status_code == 204
    assert_problem(admin.get(f"{PATH}/{path_id(gone)}"), 404, detail="not found")
    assert_problem(admin.post(PATH, json=_body(metadata_xml="<x")), 400, detail="well-formed")
    assert_problem(
        admin.post(PATH, json=_body(metadata_url="https://idp.acme.io/md")),
        422,
        detail="exactly one",
    )


def test_mapping_rules_are_validated(admin: httpx.Client, demo: Demo) -> None:
    idp = admin.post(PATH, json=_body()).json()
    mappings = f"{PATH}/{path_id(idp['id'])}/role-mappings"
    rule = {"attribute_name": "groups", "attribute_value": "x"}
    assert_problem(admin.post(mappings, json=rule), 422, detail="must grant")
    assert_problem(
        admin.post(mappings, json=rule | {"space_id": demo.spaces["ml-platform"]}),
        422,
        detail="go together",
    )
    missing_role = {"space_id": demo.spaces["ml-platform"],
                    "space_role": {"type": "CUSTOM", "id": "Um9sZTo5OTk6YWJj"}}
    assert admin.post(mappings, json=rule | missing_role).status_code in {400, 404}
    ok = admin.post(
        mappings,
        json=rule | {"project_id": demo.projects["feature-store"],
                     "project_role_id": demo.roles["Project Viewer"]},
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["position"] == 2


def test_mutations_are_audited_and_counted_per_route(
    admin: httpx.Client, arize: ArizeTarget
) -> None:
    arize.clear_requests()
    idp = admin.post(PATH, json=_body()).json()
    mapping = idp["role_mappings"][1]["id"]
    admin.patch(
        f"{PATH}/{path_id(idp['id'])}/role-mappings/{path_id(mapping)}",
        json={"attribute_value": "employees"},
    )
    logs = admin.get(
        "/v2/audit-logs",
        params={"operation_name": ["createSamlIdentityProvider", "updateSamlRoleMapping"]},
    ).json()["logs"]
    assert {log["operation_name"] for log in logs} == {
        "createSamlIdentityProvider",
        "updateSamlRoleMapping",
    }
    routes = arize.requests()["by_route"]
    assert routes["POST /v2/saml-identity-providers"] == 1
    assert routes["PATCH /v2/saml-identity-providers/{idp_id}/role-mappings/{mapping_id}"] == 1


def test_the_state_view_lists_the_saml_collections(
    admin: httpx.Client, arize: ArizeTarget
) -> None:
    idp = admin.post(PATH, json=_body()).json()
    state = arize.control("GET", "state")
    assert list(state["saml_idps"]) == [idp["id"]]
    assert len(state["saml_mappings"]) == 2


def test_a_post_fault_on_saml_is_injected(admin: httpx.Client, arize: ArizeTarget) -> None:
    arize.set_faults(error_rate=1.0, error_statuses=[503], methods=["POST"], path_prefix=PATH)
    assert admin.post(PATH, json=_body()).status_code == 503
    arize.clear_faults()
    assert admin.get(PATH).json()["saml_identity_providers"] == []


def test_saml_configurations_survive_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "account.db")
    key = "ak-saml-persist"
    headers = {"Authorization": f"Bearer {key}"}
    with ArizeEmulatorServer(seed="demo", admin_key=key, db_path=db) as server:
        made = httpx.post(
            f"{server.base_url}{PATH}", json=_body(), headers=headers, trust_env=False
        ).json()
        httpx.put(
            f"{server.base_url}/_emulator/settings", json={"enterprise": False}, trust_env=False
        ).raise_for_status()
    with ArizeEmulatorServer(seed="demo", admin_key=key, db_path=db) as server:
        refused = httpx.get(f"{server.base_url}{PATH}", headers=headers, trust_env=False)
        assert_problem(refused, 403, detail="Enterprise")
        httpx.put(
            f"{server.base_url}/_emulator/settings", json={"enterprise": True}, trust_env=False
        ).raise_for_status()
        again = httpx.get(
            f"{server.base_url}{PATH}/{path_id(made['id'])}", headers=headers, trust_env=False
        ).json()
    assert again["role_mappings"] == made["role_mappings"]


def _idp(**extra: Any) -> SamlIdentityProvider:
    now = utcnow()
    fields: dict[str, Any] = {"default_login_enabled": False, "sync_user_roles": False} | extra
    return SamlIdentityProvider(
        id="idp", n=1, name="okta", entity_id="e", email_domains=["acme.io"], created_at=now,
        updated_at=now, **fields,
    )


def _rule(n: int, value: str, **grants: Any) -> SamlRoleMapping:
    now = utcnow()
    return SamlRoleMapping(
        id=f"m{n}", n=n, idp_id="idp", attribute_name="groups", attribute_value=value,
        created_at=now, updated_at=now, **grants,
    )


def test_evaluate_in_process_first_match_and_most_permissive() -> None:
    custom = {"type": "CUSTOM", "id": "viewer"}
    rules = [
        _rule(1, "a", account_role="MEMBER", space_id="s1", space_role=predefined("READ_ONLY")),
        _rule(2, "b", account_role="ADMIN", space_id="s1", space_role=predefined("MEMBER")),
        _rule(3, "a", space_id="s2", space_role=custom),
        _rule(4, "b", space_id="s2", space_role={"type": "CUSTOM", "id": "editor"}),
        _rule(5, "b", project_id="p", project_role_id="editor"),
        _rule(6, "a", project_id="p", project_role_id="viewer"),
    ]
    grant = evaluate(_idp(), rules, {"groups": ["a", "b"]})
    assert grant is not None
    assert grant.account_role == "ADMIN"
    assert grant.spaces == {"s1": predefined("MEMBER"), "s2": custom}
    assert grant.projects == {"p": "editor"}
    assert evaluate(_idp(), rules, {"groups": ["c"]}) is None
    assert evaluate(_idp(), rules, {"other": ["a"]}) is None


def test_evaluate_in_process_falls_back_to_the_defaults() -> None:
    idp = _idp(
        default_login_enabled=True, default_account_role="MEMBER",
        default_organization_id="o", default_space_id="s", default_space_role="READ_ONLY",
    )
    grant = evaluate(idp, [_rule(1, "a", account_role="ADMIN")], {"groups": ["z"]})
    assert grant is not None
    assert (grant.account_role, grant.spaces) == ("MEMBER", {"s": predefined("READ_ONLY")})
