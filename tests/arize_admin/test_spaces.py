"""spaces: CRUD, nullable fields, membership rules, cascades and documented errors."""

from __future__ import annotations

import pytest

from arize_admin import (
    AmbiguousNameError,
    AsyncArizeAdmin,
    BadRequestError,
    ConflictError,
    CustomRole,
    NotFoundError,
    PermissionDeniedError,
    PredefinedRole,
    Space,
    SpaceMembership,
    SpaceRole,
)

from .conftest import AsUser, Seed

MISSING_SPACE = "U3BhY2U6OTk5OTp1Rk4x"  # Space:9999:uFN1
MISSING_ORG = "T3JnYW5pemF0aW9uOjk5OTk6eFl6Vw=="


async def test_list_get_and_filters(admin: AsyncArizeAdmin, seed: Seed) -> None:
    names = {space.name async for space in admin.spaces.list()}
    assert {"ml-platform", "fraud-detection", "search-ranking"} <= names
    fraud = (await admin.spaces.list(name="FRAUD")).items
    assert [space.name for space in fraud] == ["fraud-detection"]
    space = await admin.spaces.get(seed.spaces["fraud-detection"])
    assert isinstance(space, Space)
    assert space.organization_id == seed.org
    assert space.is_private is False

    other = await admin.organizations.create(name="Other")
    assert (await admin.spaces.list(org_id=other.id)).items == []


async def test_get_missing(admin: AsyncArizeAdmin) -> None:
    with pytest.raises(NotFoundError) as caught:
        await admin.spaces.get(MISSING_SPACE)
    assert caught.value.status_code == 404
    assert caught.value.path == f"/v2/spaces/{MISSING_SPACE}"


async def test_create_update_delete(admin: AsyncArizeAdmin, seed: Seed) -> None:
    space = await admin.spaces.create(
        name="new-space", organization_id=seed.org, description="hello", is_private=True
    )
    assert space.name == "new-space"
    assert space.description == "hello"
    assert space.is_private is True

    updated = await admin.spaces.update(space.id, name="renamed-space", is_private=False)
    assert updated.name == "renamed-space"
    assert updated.is_private is False
    assert updated.description == "hello"
    cleared = await admin.spaces.update(space.id, description=None)
    assert cleared.description in ("", None)

    await admin.spaces.delete(space.id)
    with pytest.raises(NotFoundError):
        await admin.spaces.get(space.id)


async def test_create_errors(admin: AsyncArizeAdmin, seed: Seed) -> None:
    with pytest.raises(ConflictError) as caught:
        await admin.spaces.create(name="ml-platform", organization_id=seed.org)
    assert caught.value.status_code == 409
    assert caught.value.path == "/v2/spaces"
    with pytest.raises(NotFoundError):
        await admin.spaces.create(name="orphan", organization_id=MISSING_ORG)
    with pytest.raises(ConflictError):
        await admin.spaces.update(seed.spaces["search-ranking"], name="ml-platform")


async def test_same_name_in_another_org_is_fine_but_ambiguous(
    admin: AsyncArizeAdmin, seed: Seed
) -> None:
    other = await admin.organizations.create(name="Other")
    twin = await admin.spaces.create(name="ml-platform", organization_id=other.id)
    with pytest.raises(AmbiguousNameError) as caught:
        await admin.spaces.find_by_name("ml-platform")
    assert twin.id in caught.value.ids
    found = await admin.spaces.find_by_name("ml-platform", org_id=other.id)
    assert found is not None
    assert found.id == twin.id
    assert await admin.spaces.find_by_name("ML-platform") is None


async def test_delete_cascades_to_projects(admin: AsyncArizeAdmin, seed: Seed) -> None:
    await admin.spaces.delete(seed.spaces["fraud-detection"])
    with pytest.raises(NotFoundError):
        await admin.projects.get(seed.projects["fraud-model"])
    remaining = {project.name async for project in admin.projects.list()}
    assert "fraud-model" not in remaining
    assert "payments-risk" not in remaining
    assert "ranking-v2" in remaining


async def test_add_and_remove_user(admin: AsyncArizeAdmin, seed: Seed) -> None:
    space = seed.spaces["ml-platform"]
    membership = await admin.spaces.add_user(
        space, user_id=seed.users["dana"], role=SpaceRole.MEMBER
    )
    assert isinstance(membership, SpaceMembership)
    assert membership.space_id == space
    assert membership.role == PredefinedRole(name="MEMBER")

    custom = await admin.spaces.add_user(
        space, user_id=seed.users["dana"], role=CustomRole(id=seed.roles["Space Editor"])
    )
    assert isinstance(custom.role, CustomRole)
    assert custom.role.id == seed.roles["Space Editor"]

    await admin.spaces.remove_user(space, user_id=seed.users["dana"])
    with pytest.raises(NotFoundError) as caught:
        await admin.spaces.remove_user(space, user_id=seed.users["dana"])
    assert caught.value.method == "DELETE"


async def test_add_user_requires_org_membership(admin: AsyncArizeAdmin, seed: Seed) -> None:
    other = await admin.organizations.create(name="Other")
    space = await admin.spaces.create(name="elsewhere", organization_id=other.id)
    with pytest.raises(BadRequestError) as caught:
        await admin.spaces.add_user(space.id, user_id=seed.users["dana"], role="MEMBER")
    assert caught.value.status_code == 400


async def test_add_user_errors(admin: AsyncArizeAdmin, as_user: AsUser, seed: Seed) -> None:
    with pytest.raises(NotFoundError):
        await admin.spaces.add_user(MISSING_SPACE, user_id=seed.users["dana"], role="MEMBER")
    sam = await as_user(seed.users["sam"])
    with pytest.raises(PermissionDeniedError):
        await sam.spaces.add_user(
            seed.spaces["search-ranking"], user_id=seed.users["dana"], role="ADMIN"
        )
