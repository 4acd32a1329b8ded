"""resource_restrictions: idempotent restrict (200), unrestrict, list."""

from __future__ import annotations

import pytest

from arize_admin import (
    AsyncArizeAdmin,
    BadRequestError,
    NotFoundError,
    ResourceRestriction,
    ResourceRestrictionType,
)

from .conftest import AsUser, Seed


async def test_restrict_list_unrestrict(admin: AsyncArizeAdmin, seed: Seed) -> None:
    project = seed.projects["fraud-model"]
    restriction = await admin.resource_restrictions.restrict(project)
    assert isinstance(restriction, ResourceRestriction)
    assert restriction.resource_id == project
    assert restriction.resource_type is ResourceRestrictionType.PROJECT

    again = await admin.resource_restrictions.restrict(project)  # idempotent
    assert again.resource_id == project
    assert again.created_at == restriction.created_at

    listed = await admin.resource_restrictions.list().to_list()
    assert [r.resource_id for r in listed] == [project]
    projects_only = await admin.resource_restrictions.list(
        resource_type=ResourceRestrictionType.PROJECT
    ).to_list()
    assert [r.resource_id for r in projects_only] == [project]
    assert await admin.resource_restrictions.list(resource_type="DASHBOARD").to_list() == []

    await admin.resource_restrictions.unrestrict(project)
    assert await admin.resource_restrictions.list().to_list() == []
    with pytest.raises(NotFoundError) as caught:
        await admin.resource_restrictions.unrestrict(project)
    assert caught.value.status_code == 404
    assert caught.value.path == f"/v2/resource-restrictions/{project.replace('=', '%3D')}"


async def test_restricting_something_that_is_not_a_resource(
    admin: AsyncArizeAdmin, seed: Seed
) -> None:
    with pytest.raises(BadRequestError) as caught:
        await admin.resource_restrictions.restrict(seed.users["dana"])
    assert caught.value.status_code == 400
    assert caught.value.method == "POST"
    assert caught.value.path == "/v2/resource-restrictions"


async def test_many_restrictions_page(admin: AsyncArizeAdmin, seed: Seed) -> None:
    for name in seed.projects:
        await admin.resource_restrictions.restrict(seed.projects[name])
    listed = [r async for r in admin.resource_restrictions.list(limit=2)]
    assert {r.resource_id for r in listed} == set(seed.projects.values())


async def test_short_and_empty_pages_are_followed(
    admin: AsyncArizeAdmin, as_user: AsUser, seed: Seed
) -> None:
    for project_id in seed.projects.values():
        await admin.resource_restrictions.restrict(project_id)
    space = seed.spaces["search-ranking"]
    await admin.spaces.add_user(space, user_id=seed.users["sam"], role="ADMIN")
    sam = await as_user(seed.users["sam"])

    pages = [page async for page in sam.resource_restrictions.list(limit=1).pages()]
    assert any(not page.items and page.has_more for page in pages)  # the case under test
    seen = {r.resource_id for page in pages for r in page.items}
    assert seen == {seed.projects["ranking-v2"], seed.projects["chat-assistant"]}
    assert {r.resource_id async for r in sam.resource_restrictions.list(limit=1)} == seen
