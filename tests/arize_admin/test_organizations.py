"""organizations: CRUD, membership upsert, cascades and documented errors."""

from __future__ import annotations

import pytest

from arize_admin import (
    AsyncArizeAdmin,
    BadRequestError,
    ConflictError,
    NotFoundError,
    Organization,
    OrganizationMembership,
    OrgRole,
    PermissionDeniedError,
    PredefinedRole,
)

from .conftest import AsUser, Seed

MISSING_ORG = "T3JnYW5pemF0aW9uOjk5OTk6eFl6Vw=="  # Organization:9999:xYzW


async def test_list_get_and_find(admin: AsyncArizeAdmin, seed: Seed) -> None:
    orgs = await admin.organizations.list().to_list()
    assert "Acme" in {org.name for org in orgs}
    assert [o.name for o in (await admin.organizations.list(name="cm")).items] == ["Acme"]

    acme = await admin.organizations.get(seed.org)
    assert isinstance(acme, Organization)
    assert acme.name == "Acme"

    assert (await admin.organizations.find_by_name("Acme")).id == seed.org  # type: ignore[union-attr]
    assert await admin.organizations.find_by_name("acme") is None  # case-sensitive
    assert await admin.organizations.find_by_name("Ac") is None  # exact only


async def test_get_missing(admin: AsyncArizeAdmin) -> None:
    with pytest.raises(NotFoundError) as caught:
        await admin.organizations.get(MISSING_ORG)
    assert caught.value.status_code == 404
    assert caught.value.path == "/v2/organizations/T3JnYW5pemF0aW9uOjk5OTk6eFl6Vw%3D%3D"


async def test_create_update_delete(admin: AsyncArizeAdmin) -> None:
    org = await admin.organizations.create(name="Globex", description="second org")
    assert org.name == "Globex"
    assert org.description == "second org"
    plain = await admin.organizations.create(name="Initech")
    assert plain.description == ""

    renamed = await admin.organizations.update(org.id, name="Globex Corp")
    assert renamed.name == "Globex Corp"
    assert renamed.description == "second org"  # untouched when not given
    cleared = await admin.organizations.update(org.id, description=None)
    assert cleared.description in ("", None)
    assert cleared.name == "Globex Corp"

    await admin.organizations.delete(org.id)
    with pytest.raises(NotFoundError):
        await admin.organizations.get(org.id)
    with pytest.raises(NotFoundError):
        await admin.organizations.delete(org.id)


async def test_duplicate_names_conflict(admin: AsyncArizeAdmin) -> None:
    with pytest.raises(ConflictError) as caught:
        await admin.organizations.create(name="Acme")
    assert caught.value.status_code == 409
    assert caught.value.method == "POST"
    assert caught.value.path == "/v2/organizations"
    assert caught.value.detail

    other = await admin.organizations.create(name="Umbrella")
    with pytest.raises(ConflictError):
        await admin.organizations.update(other.id, name="Acme")


async def test_delete_cascades_to_spaces_and_projects(admin: AsyncArizeAdmin) -> None:
    org = await admin.organizations.create(name="Doomed")
    space = await admin.spaces.create(name="doomed-space", organization_id=org.id)
    project = await admin.projects.create(name="doomed-project", space_id=space.id)
    await admin.organizations.delete(org.id)
    with pytest.raises(NotFoundError):
        await admin.spaces.get(space.id)
    with pytest.raises(NotFoundError):
        await admin.projects.get(project.id)


async def test_add_user_upserts(admin: AsyncArizeAdmin, seed: Seed) -> None:
    membership = await admin.organizations.add_user(
        seed.org, user_id=seed.users["sam"], role=OrgRole.ADMIN
    )
    assert isinstance(membership, OrganizationMembership)
    assert membership.user_id == seed.users["sam"]
    assert membership.organization_id == seed.org
    assert membership.role == PredefinedRole(name="ADMIN")

    again = await admin.organizations.add_user(
        seed.org, user_id=seed.users["sam"], role=PredefinedRole(name="READ_ONLY")
    )
    assert again.role == PredefinedRole(name="READ_ONLY")

    org = await admin.organizations.create(name="Hooli")
    joined = await admin.organizations.add_user(org.id, user_id=seed.users["dana"], role="MEMBER")
    assert joined.organization_id == org.id


async def test_add_user_annotator_rules(admin: AsyncArizeAdmin, seed: Seed) -> None:
    annotator = await admin.users.create(
        name="Ann Notator", email="ann@acme.example", role="ANNOTATOR", invite_mode="NONE"
    )
    with pytest.raises(BadRequestError) as caught:
        await admin.organizations.add_user(seed.org, user_id=annotator.id, role="MEMBER")
    assert caught.value.status_code == 400
    assert caught.value.path.endswith("/users")
    with pytest.raises(BadRequestError):
        await admin.organizations.add_user(seed.org, user_id=seed.users["dana"], role="ANNOTATOR")
    ok = await admin.organizations.add_user(seed.org, user_id=annotator.id, role="ANNOTATOR")
    assert ok.role == PredefinedRole(name="ANNOTATOR")


async def test_add_user_errors(admin: AsyncArizeAdmin, as_user: AsUser, seed: Seed) -> None:
    with pytest.raises(NotFoundError):
        await admin.organizations.add_user(MISSING_ORG, user_id=seed.users["dana"], role="MEMBER")
    dana = await as_user(seed.users["dana"])
    with pytest.raises(PermissionDeniedError) as caught:
        await dana.organizations.add_user(seed.org, user_id=seed.users["sam"], role="ADMIN")
    assert caught.value.status_code == 403


async def test_remove_user_cascades_to_spaces(admin: AsyncArizeAdmin, seed: Seed) -> None:
    dana = seed.users["dana"]
    await admin.organizations.remove_user(seed.org, user_id=dana)
    with pytest.raises(NotFoundError):
        await admin.spaces.remove_user(seed.spaces["fraud-detection"], user_id=dana)
    with pytest.raises(NotFoundError):
        await admin.organizations.remove_user(seed.org, user_id=dana)
