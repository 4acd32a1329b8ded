"""`client.saml_identity_providers` against the emulator over HTTP: the documented semantics.

Each rule Arize documents for the (alpha) SAML API has a test here: one metadata source,
400 for bad metadata, Enterprise account admins only, file-managed configurations read-only,
configuration order kept by updates, the required login and admin mappings preserved
atomically, cursor paging, and what a login does with the mappings (first match for custom
space roles and project roles, most permissive for built-in ones, `sync_user_roles`).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from arize_admin import (
    APIConnectionError,
    AsyncArizeAdmin,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from arize_admin.types import (
    CustomRole,
    SamlIdentityProvider,
    SamlRoleMappingRule,
    SpaceRole,
)
from tests.arize_admin.conftest import AsUser, Seed
from tests.fixtures.arize import ADMIN_KEY

METADATA_XML = (
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
    'entityID="https://idp.acme.example/saml">'
    '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>'
    "</md:EntityDescriptor>"
)
PATH = "/v2/saml-identity-providers"
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


def rule(value: str, **grants: Any) -> SamlRoleMappingRule:
    return SamlRoleMappingRule(attribute_name="groups", attribute_value=value, **grants)


async def make_idp(
    admin: AsyncArizeAdmin, *extra: SamlRoleMappingRule, sync: bool = False, domain: str = "acme.io"
) -> SamlIdentityProvider:
    """A configuration with default login off: an admin group, a member group, then `extra`."""
    return await admin.saml_identity_providers.create(
        name=f"okta-{domain}",
        metadata_xml=METADATA_XML,
        email_domains=[domain],
        sync_user_roles=sync,
        role_mappings=[
            rule("admins", account_role="ADMIN"),
            rule("staff", account_role="MEMBER"),
            *extra,
        ],
    )


async def login(control: httpx.AsyncClient, email: str, *groups: str) -> dict[str, Any]:
    response = await control.post(
        "/_emulator/saml/login", json={"email": email, "attributes": {"groups": list(groups)}}
    )
    response.raise_for_status()
    return response.json()


async def route_count(control: httpx.AsyncClient, route: str) -> int:
    counts = (await control.get("/_emulator/requests")).json()
    return int(counts["by_route"].get(route, 0))


# ---------------------------------------------------------------- configurations


async def test_create_returns_the_whole_configuration_and_lists_return_summaries(
    admin: AsyncArizeAdmin,
) -> None:
    idp = await make_idp(admin)
    assert idp.entity_id == "https://idp.acme.example/saml"
    assert idp.metadata_xml == METADATA_XML
    assert idp.email_domains == ["acme.io"]
    assert not idp.default_login_enabled and not idp.is_managed_by_file
    assert [(m.position, m.attribute_value) for m in idp.role_mappings] == [
        (0, "admins"),
        (1, "staff"),
    ]
    listed = [s async for s in admin.saml_identity_providers.list()]
    assert [s.id for s in listed] == [idp.id]
    assert "metadata_xml" not in listed[0].model_dump() and "role_mappings" not in (
        listed[0].model_dump()
    )
    assert (await admin.saml_identity_providers.get(idp.id)).role_mappings == idp.role_mappings


async def test_configurations_and_mappings_page_with_cursors(admin: AsyncArizeAdmin) -> None:
    made = [await make_idp(admin, domain=f"d{i}.io") for i in range(3)]
    ids = [idp.id async for idp in admin.saml_identity_providers.list(limit=1)]
    assert ids == [m.id for m in made]
    extra = [rule(f"g{i}", account_role="MEMBER") for i in range(3)]
    idp = await make_idp(admin, *extra, domain="paged.io")
    values = [m.attribute_value async for m in admin.saml_identity_providers.role_mappings.list(
        idp.id, limit=2
    )]
    assert values == ["admins", "staff", "g0", "g1", "g2"]


async def test_exactly_one_metadata_source_is_required(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient
) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        await admin.saml_identity_providers.create(
            name="x", email_domains=["x.io"], role_mappings=[rule("a", account_role="ADMIN")]
        )
    base = {
        "name": "x",
        "email_domains": ["x.io"],
        "role_mappings": [
            {"attribute_name": "groups", "attribute_value": "a", "account_role": "ADMIN"}
        ],
    }
    for sources in ({}, {"metadata_url": "https://idp.x.io/md", "metadata_xml": METADATA_XML}):
        response = await control.post(PATH, headers=AUTH, json=base | sources)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "exactly one of metadata_url or metadata_xml" in response.json()["detail"]


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ({"metadata_xml": "<not-xml"}, "not well-formed"),
        ({"metadata_xml": "<EntityDescriptor entityID='e'/>"}, "no identity provider"),
        ({"metadata_url": "ftp://idp.x.io/md"}, "http(s) URL"),
        ({"metadata_url": "https://idp.unreachable.invalid/md"}, "could not be reached"),
    ],
)
async def test_invalid_metadata_or_an_unreachable_url_is_400(
    admin: AsyncArizeAdmin, source: dict[str, str], detail: str
) -> None:
    with pytest.raises(BadRequestError) as caught:
        await admin.saml_identity_providers.create(
            name="x", email_domains=["x.io"], role_mappings=[rule("a", account_role="ADMIN")],
            **source,
        )
    assert detail in str(caught.value.detail)
    assert [i async for i in admin.saml_identity_providers.list()] == []


async def test_default_login_needs_all_four_defaults_and_without_it_mappings(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient, seed: Seed
) -> None:
    space = seed.spaces["ml-platform"]
    partial = {
        "name": "x", "metadata_xml": METADATA_XML, "email_domains": ["x.io"],
        "default_login_enabled": True, "default_account_role": "MEMBER",
    }
    response = await control.post(PATH, headers=AUTH, json=partial)
    assert response.status_code == 422
    assert "requires all four default fields" in response.json()["detail"]
    off = {"name": "x", "metadata_xml": METADATA_XML, "email_domains": ["x.io"]}
    response = await control.post(PATH, headers=AUTH, json=off)
    assert response.status_code == 422
    assert "supply initial role_mappings" in response.json()["detail"]
    idp = await admin.saml_identity_providers.create(
        name="defaults", metadata_xml=METADATA_XML, email_domains=["x.io"],
        default_login=("MEMBER", seed.org, space, SpaceRole.READ_ONLY),
    )
    assert idp.default_login_enabled and idp.role_mappings == []
    assert (idp.default_space_id, idp.default_space_role) == (space, SpaceRole.READ_ONLY)


async def test_unknown_fields_such_as_domain_verification_flags_are_refused(
    control: httpx.AsyncClient,
) -> None:
    body = {
        "name": "x", "metadata_xml": METADATA_XML, "email_domains": ["x.io"],
        "domains_verified": True,
        "role_mappings": [
            {"attribute_name": "groups", "attribute_value": "a", "account_role": "ADMIN"}
        ],
    }
    assert (await control.post(PATH, headers=AUTH, json=body)).status_code == 422


async def test_an_email_domain_belongs_to_one_configuration(admin: AsyncArizeAdmin) -> None:
    await make_idp(admin, domain="taken.io")
    with pytest.raises(ConflictError, match="already claimed"):
        await make_idp(admin, domain="taken.io")


async def test_update_changes_the_supplied_fields_only(admin: AsyncArizeAdmin) -> None:
    idp = await make_idp(admin)
    updated = await admin.saml_identity_providers.update(
        idp.id, metadata_url="https://idp.acme.example/md", sync_user_roles=True
    )
    assert updated.metadata_url == "https://idp.acme.example/md"
    assert updated.metadata_xml is None
    assert updated.sync_user_roles and updated.name == idp.name
    assert updated.role_mappings == idp.role_mappings


async def test_delete_removes_the_configuration_and_its_mappings(
    admin: AsyncArizeAdmin,
) -> None:
    idp = await make_idp(admin)
    await admin.saml_identity_providers.delete(idp.id)
    with pytest.raises(NotFoundError):
        await admin.saml_identity_providers.get(idp.id)
    with pytest.raises(NotFoundError):
        await admin.saml_identity_providers.role_mappings.delete(
            idp.id, idp.role_mappings[0].id
        )


# ---------------------------------------------------------------- who may call


async def test_a_non_admin_key_is_refused_with_403(
    admin: AsyncArizeAdmin, as_user: AsUser, seed: Seed
) -> None:
    idp = await make_idp(admin)
    member = await as_user(seed.users["dana"])
    with pytest.raises(PermissionDeniedError, match="account admins"):
        await member.saml_identity_providers.get(idp.id)
    with pytest.raises(PermissionDeniedError):
        await member.saml_identity_providers.role_mappings.create(
            idp.id, rule("sneaky", account_role="ADMIN")
        )
    assert len((await admin.saml_identity_providers.get(idp.id)).role_mappings) == 2


async def test_a_non_enterprise_account_is_refused_with_403(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient
) -> None:
    (await control.put("/_emulator/settings", json={"enterprise": False})).raise_for_status()
    with pytest.raises(PermissionDeniedError, match="Enterprise"):
        await make_idp(admin)
    with pytest.raises(PermissionDeniedError, match="Enterprise"):
        [i async for i in admin.saml_identity_providers.list()]


# ---------------------------------------------------------------- file-managed


async def test_a_file_managed_configuration_is_read_only(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient
) -> None:
    response = await control.post(
        "/_emulator/saml/file-managed",
        json={
            "metadata_url": "https://idp.acme.example/md",
            "email_domains": ["file.io"],
            "role_mappings": [
                {"attribute_name": "groups", "attribute_value": "a", "account_role": "ADMIN"},
                {"attribute_name": "groups", "attribute_value": "b", "account_role": "MEMBER"},
            ],
        },
    )
    idp_id = response.json()["id"]
    before = await admin.saml_identity_providers.get(idp_id)
    assert before.is_managed_by_file
    mappings = admin.saml_identity_providers.role_mappings
    attempts = [
        admin.saml_identity_providers.update(idp_id, name="renamed"),
        admin.saml_identity_providers.delete(idp_id),
        mappings.create(idp_id, rule("c", account_role="MEMBER")),
        mappings.update(idp_id, before.role_mappings[1].id, attribute_value="z"),
        mappings.delete(idp_id, before.role_mappings[1].id),
    ]
    for attempt in attempts:
        with pytest.raises(ConflictError, match="file-managed and read-only") as caught:
            await attempt
        assert "API-managed configuration" in str(caught.value.detail)
    assert await admin.saml_identity_providers.get(idp_id) == before


# ---------------------------------------------------------------- order and required mappings


async def test_updating_a_mapping_keeps_its_position(admin: AsyncArizeAdmin) -> None:
    idp = await make_idp(admin, rule("contractors", account_role="ANNOTATOR"))
    staff = idp.role_mappings[1]
    updated = await admin.saml_identity_providers.role_mappings.update(
        idp.id, staff.id, attribute_value="employees"
    )
    assert updated.position == 1 and updated.id == staff.id
    order = [m.attribute_value for m in (await admin.saml_identity_providers.get(idp.id))
             .role_mappings]
    assert order == ["admins", "employees", "contractors"]


async def test_new_mappings_go_last(admin: AsyncArizeAdmin) -> None:
    idp = await make_idp(admin)
    added = await admin.saml_identity_providers.role_mappings.create(
        idp.id, rule("new", account_role="MEMBER")
    )
    assert added.position == 2


async def test_the_last_admin_mapping_cannot_be_removed_or_narrowed(
    admin: AsyncArizeAdmin,
) -> None:
    idp = await make_idp(admin)
    mappings = admin.saml_identity_providers.role_mappings
    admins = idp.role_mappings[0]
    with pytest.raises(ConflictError, match="last mapping that grants account ADMIN"):
        await mappings.delete(idp.id, admins.id)
    with pytest.raises(ConflictError, match="last mapping that grants account ADMIN"):
        await mappings.update(idp.id, admins.id, account_role="MEMBER")
    assert (await admin.saml_identity_providers.get(idp.id)).role_mappings == idp.role_mappings
    await mappings.create(idp.id, rule("break-glass", account_role="ADMIN"))
    await mappings.delete(idp.id, admins.id)  # another admin mapping now exists


async def test_the_last_login_mapping_cannot_go_while_default_login_is_off(
    admin: AsyncArizeAdmin, seed: Seed
) -> None:
    space = seed.spaces["ml-platform"]
    idp = await admin.saml_identity_providers.create(
        name="login", metadata_xml=METADATA_XML, email_domains=["login.io"],
        role_mappings=[
            rule("staff", account_role="MEMBER", space_id=space, space_role=SpaceRole.MEMBER),
            rule("ml", space_id=space, space_role=SpaceRole.ADMIN),
        ],
    )
    staff = idp.role_mappings[0]
    with pytest.raises(ConflictError, match="last mapping that lets users log in"):
        await admin.saml_identity_providers.role_mappings.delete(idp.id, staff.id)
    with pytest.raises(ConflictError, match="last mapping that lets users log in"):
        await admin.saml_identity_providers.role_mappings.update(
            idp.id, staff.id, account_role=None
        )
    with pytest.raises(ConflictError, match="Default login cannot be disabled"):
        await admin.saml_identity_providers.update(
            (await make_idp_with_defaults(admin, seed)).id, default_login=None
        )
    assert (await admin.saml_identity_providers.get(idp.id)).role_mappings == idp.role_mappings


async def make_idp_with_defaults(admin: AsyncArizeAdmin, seed: Seed) -> SamlIdentityProvider:
    return await admin.saml_identity_providers.create(
        name="defaults", metadata_xml=METADATA_XML, email_domains=["defaults.io"],
        default_login=("MEMBER", seed.org, seed.spaces["ml-platform"], "READ_ONLY"),
    )


async def test_unknown_configuration_or_mapping_is_404(admin: AsyncArizeAdmin) -> None:
    idp = await make_idp(admin)
    other = await make_idp(admin, domain="other.io")
    with pytest.raises(NotFoundError):
        # A mapping of another configuration is not found under this one.
        await admin.saml_identity_providers.role_mappings.delete(
            idp.id, other.role_mappings[1].id
        )
    await admin.saml_identity_providers.delete(other.id)
    with pytest.raises(NotFoundError):
        await admin.saml_identity_providers.get(other.id)


# ---------------------------------------------------------------- login evaluation


async def test_built_in_space_roles_take_the_most_permissive_match(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient, seed: Seed
) -> None:
    space = seed.spaces["ml-platform"]
    await make_idp(
        admin,
        rule("viewers", space_id=space, space_role=SpaceRole.READ_ONLY),
        rule("builders", space_id=space, space_role=SpaceRole.ADMIN),
        rule("others", space_id=space, space_role=SpaceRole.MEMBER),
    )
    result = await login(control, "new.hire@acme.io", "staff", "viewers", "builders", "others")
    assert result["created"] and result["account_role"] == "MEMBER"
    assert result["spaces"] == {space: {"type": "PREDEFINED", "name": "ADMIN"}}
    assert await _space_role(admin, result["user_id"], space) == "ADMIN"
    assert (await admin.users.get(result["user_id"])).role.name == "MEMBER"


async def test_custom_space_roles_and_project_roles_take_the_first_match(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient, seed: Seed
) -> None:
    space, project = seed.spaces["ml-platform"], seed.projects["feature-store"]
    editor, viewer = seed.roles["Space Editor"], seed.roles["Project Viewer"]
    await make_idp(
        admin,
        rule("ml", space_id=space, space_role=CustomRole(id=viewer)),
        rule("ml-leads", space_id=space, space_role=CustomRole(id=editor)),
        rule("ml", project_id=project, project_role_id=viewer),
        rule("ml-leads", project_id=project, project_role_id=editor),
        rule("ml-leads", space_id=space, space_role=SpaceRole.ADMIN),
    )
    first = await login(control, "lead@acme.io", "staff", "ml-leads", "ml")
    assert first["spaces"][space] == {"type": "CUSTOM", "id": viewer}
    assert first["projects"] == {project: viewer}
    bindings = [
        (b.resource_id, b.role_id)
        async for b in admin.role_bindings.list(resource_type="PROJECT", user_id=first["user_id"])
    ]
    assert bindings == [(project, viewer)]


@pytest.mark.real  # signs in with a key of its own, on the emulator's real address
async def test_the_login_applies_the_mappings_to_stored_roles_only_with_sync(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient, seed: Seed
) -> None:
    space = seed.spaces["ml-platform"]
    idp = await make_idp(admin, rule("ml", space_id=space, space_role=SpaceRole.MEMBER))
    first = await login(control, "dee@acme.io", "staff", "ml")
    user_id = first["user_id"]
    key = (await control.post("/_emulator/keys", json={"user_id": user_id})).json()["key"]
    # Promote the group in Arize: without sync_user_roles the stored roles stay at next login.
    ml = idp.role_mappings[2]
    await admin.saml_identity_providers.role_mappings.update(
        idp.id, ml.id, space=(space, SpaceRole.ADMIN)
    )
    again = await login(control, "dee@acme.io", "staff", "ml")
    assert not again["roles_applied"]
    assert await _space_role(admin, user_id, space) == "MEMBER"
    await admin.saml_identity_providers.update(idp.id, sync_user_roles=True)
    synced = await login(control, "dee@acme.io", "staff", "ml")
    assert synced["roles_applied"] and not synced["created"]
    assert await _space_role(admin, user_id, space) == "ADMIN"
    # Losing the group removes the space at the next synced login; the key keeps working.
    await login(control, "dee@acme.io", "staff")
    assert await _space_role(admin, user_id, space) is None
    async with AsyncArizeAdmin(api_key=key, base_url=admin.base_url) as own:
        assert (await own.users.get(user_id)).id == user_id


async def _space_role(admin: AsyncArizeAdmin, user_id: str, space_id: str) -> str | None:
    async for binding in admin.role_bindings.list(resource_type="SPACE", user_id=user_id):
        if binding.resource_id == space_id:
            return (await admin.roles.get(binding.role_id)).name
    return None


async def test_no_match_without_default_login_refuses_the_login(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient
) -> None:
    await make_idp(admin)
    response = await control.post(
        "/_emulator/saml/login", json={"email": "x@acme.io", "attributes": {"groups": ["none"]}}
    )
    assert response.status_code == 403
    assert [u async for u in admin.users.list(email="x@acme.io")] == []


# ---------------------------------------------------------------- faults


@pytest.mark.real  # a lost response is a dropped connection: a real socket
async def test_a_lost_mapping_post_is_not_resent_and_landed_once(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient
) -> None:
    idp = await make_idp(admin)
    route = "POST /v2/saml-identity-providers/{idp_id}/role-mappings"
    await control.put(
        "/_emulator/faults",
        json={"lost_response_rate": 1.0, "methods": ["POST"], "path_prefix": PATH},
    )
    await control.delete("/_emulator/requests")
    with pytest.raises(APIConnectionError):
        await admin.saml_identity_providers.role_mappings.create(
            idp.id, rule("late", account_role="MEMBER")
        )
    assert await route_count(control, route) == 1
    await control.delete("/_emulator/faults")
    values = [m.attribute_value async for m in admin.saml_identity_providers.role_mappings.list(
        idp.id
    )]
    assert values.count("late") == 1


async def test_reads_are_retried_through_5xx(
    admin: AsyncArizeAdmin, control: httpx.AsyncClient
) -> None:
    idp = await make_idp(admin)
    await control.put(
        "/_emulator/faults",
        json={"error_rate": 1.0, "error_statuses": [503], "methods": ["GET"], "max_faults": 2,
              "path_prefix": PATH},
    )
    assert (await admin.saml_identity_providers.get(idp.id)).id == idp.id
