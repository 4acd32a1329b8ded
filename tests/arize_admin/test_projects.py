"""projects: CRUD, filters, lookup and documented errors."""

from __future__ import annotations

import pytest

from arize_admin import (
    AsyncArizeAdmin,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    Project,
    ProjectType,
)

from .conftest import AsUser, Seed

MISSING_PROJECT = "TW9kZWw6OTk5OTpGdmxM"  # Model:9999:FvlL


async def test_list_and_filters(admin: AsyncArizeAdmin, seed: Seed) -> None:
    names = {p.name async for p in admin.projects.list()}
    assert {
        "fraud-model",
        "payments-risk",
        "ranking-v2",
        "chat-assistant",
        "feature-store",
    } <= names
    in_fraud = {p.name async for p in admin.projects.list(space_id=seed.spaces["fraud-detection"])}
    assert in_fraud == {"fraud-model", "payments-risk"}
    by_space_name = {p.name async for p in admin.projects.list(space_name="SEARCH")}
    assert by_space_name == {"ranking-v2", "chat-assistant"}
    by_name = {p.name async for p in admin.projects.list(name="risk")}
    assert by_name == {"payments-risk"}
    typed = [p async for p in admin.projects.list(project_type=ProjectType.APPLICATION)]
    assert all(p.project_type is ProjectType.APPLICATION for p in typed)


async def test_get_and_find(admin: AsyncArizeAdmin, seed: Seed) -> None:
    project = await admin.projects.get(seed.projects["fraud-model"])
    assert isinstance(project, Project)
    assert project.space_id == seed.spaces["fraud-detection"]
    found = await admin.projects.find_by_name(
        "fraud-model", space_id=seed.spaces["fraud-detection"]
    )
    assert found is not None
    assert found.id == project.id
    assert (
        await admin.projects.find_by_name("fraud-model", space_id=seed.spaces["ml-platform"])
        is None
    )
    assert (
        await admin.projects.find_by_name("fraud", space_id=seed.spaces["fraud-detection"]) is None
    )


async def test_get_missing(admin: AsyncArizeAdmin) -> None:
    with pytest.raises(NotFoundError) as caught:
        await admin.projects.get(MISSING_PROJECT)
    assert caught.value.status_code == 404
    assert caught.value.path == f"/v2/projects/{MISSING_PROJECT}"


async def test_create_rename_delete(admin: AsyncArizeAdmin, seed: Seed) -> None:
    project = await admin.projects.create(name="churn", space_id=seed.spaces["ml-platform"])
    assert project.name == "churn"
    assert project.space_id == seed.spaces["ml-platform"]
    assert project.project_type is ProjectType.APPLICATION
    renamed = await admin.projects.update(project.id, name="churn-v2")
    assert renamed.name == "churn-v2"
    assert renamed.id == project.id
    await admin.projects.delete(project.id)
    with pytest.raises(NotFoundError):
        await admin.projects.get(project.id)
    with pytest.raises(NotFoundError):
        await admin.projects.delete(project.id)
    with pytest.raises(NotFoundError):
        await admin.projects.update(project.id, name="ghost")


async def test_create_errors(admin: AsyncArizeAdmin, as_user: AsUser, seed: Seed) -> None:
    with pytest.raises(ConflictError) as caught:
        await admin.projects.create(name="fraud-model", space_id=seed.spaces["fraud-detection"])
    assert caught.value.status_code == 409
    assert caught.value.path == "/v2/projects"
    # The same name in another space is fine.
    await admin.projects.create(name="fraud-model", space_id=seed.spaces["ml-platform"])

    dana = await as_user(seed.users["dana"])
    with pytest.raises(PermissionDeniedError):
        await dana.projects.create(name="sneaky", space_id=seed.spaces["ml-platform"])
