"""role_bindings: one binding per user and resource, 404-not-403 rules, CRUD."""

from __future__ import annotations

import pytest

from arize_admin import (
    AsyncArizeAdmin,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RoleBinding,
    RoleBindingResourceType,
    UnprocessableEntityError,
)

from .conftest import Seed

MISSING_BINDING = "Um9sZUJpbmRpbmc6OTk5OTphYmNk"  # RoleBinding:9999:abcd
MISSING_SPACE = "U3BhY2U6OTk5OTp1Rk4x"
MISSING_USER = "VXNlcjo5OTk5OTphQmNE"


async def test_list_and_get(admin: AsyncArizeAdmin, seed: Seed) -> None:
    lee = seed.users["lee.leaver"]
    project_bindings = await admin.role_bindings.list(resource_type="PROJECT").to_list()
    mine = [b for b in project_bindings if b.user_id == lee]
    assert len(mine) == 1
    binding = mine[0]
    assert binding.resource_id == seed.projects["fraud-model"]
    assert binding.role_id == seed.roles["Project Viewer"]
    assert binding.resource_type is RoleBindingResourceType.PROJECT

    filtered = await admin.role_bindings.list(resource_type="PROJECT", user_id=lee).to_list()
    assert [b.id for b in filtered] == [binding.id]
    got = await admin.role_bindings.get(binding.id)
    assert isinstance(got, RoleBinding)
    assert got == binding


async def test_list_errors(admin: AsyncArizeAdmin) -> None:
    with pytest.raises(NotFoundError) as caught:
        await admin.role_bindings.list(resource_type="SPACE", user_id=MISSING_USER).to_list()
    assert caught.value.status_code == 404
    assert caught.value.path == "/v2/role-bindings"
    with pytest.raises(ValueError):
        admin.role_bindings.list(resource_type="ACCOUNT")


async def test_create_update_delete(admin: AsyncArizeAdmin, seed: Seed) -> None:
    binding = await admin.role_bindings.create(
        user_id=seed.users["dana"],
        role_id=seed.roles["Space Editor"],
        resource_type=RoleBindingResourceType.SPACE,
        resource_id=seed.spaces["ml-platform"],
    )
    assert binding.user_id == seed.users["dana"]
    assert binding.resource_type is RoleBindingResourceType.SPACE

    with pytest.raises(ConflictError) as caught:  # one binding per user and resource
        await admin.role_bindings.create(
            user_id=seed.users["dana"],
            role_id=seed.roles["Project Viewer"],
            resource_type="SPACE",
            resource_id=seed.spaces["ml-platform"],
        )
    assert caught.value.status_code == 409

    updated = await admin.role_bindings.update(binding.id, role_id=seed.roles["Project Viewer"])
    assert updated.role_id == seed.roles["Project Viewer"]
    assert updated.id == binding.id

    await admin.role_bindings.delete(binding.id)
    with pytest.raises(NotFoundError):
        await admin.role_bindings.get(binding.id)
    with pytest.raises(NotFoundError):
        await admin.role_bindings.delete(binding.id)
    with pytest.raises(NotFoundError):
        await admin.role_bindings.update(binding.id, role_id=seed.roles["Space Editor"])


async def test_create_errors(admin: AsyncArizeAdmin, seed: Seed) -> None:
    with pytest.raises(PermissionDeniedError) as caught:  # 403 even for a missing resource
        await admin.role_bindings.create(
            user_id=seed.users["dana"],
            role_id=seed.roles["Space Editor"],
            resource_type="SPACE",
            resource_id=MISSING_SPACE,
        )
    assert caught.value.status_code == 403
    with pytest.raises((BadRequestError, UnprocessableEntityError)):  # type/id mismatch
        await admin.role_bindings.create(
            user_id=seed.users["dana"],
            role_id=seed.roles["Space Editor"],
            resource_type="PROJECT",
            resource_id=seed.spaces["fraud-detection"],
        )
    with pytest.raises(NotFoundError):
        await admin.role_bindings.create(
            user_id=MISSING_USER,
            role_id=seed.roles["Space Editor"],
            resource_type="SPACE",
            resource_id=seed.spaces["fraud-detection"],
        )


async def test_get_missing(admin: AsyncArizeAdmin) -> None:
    with pytest.raises(NotFoundError) as caught:
        await admin.role_bindings.get(MISSING_BINDING)
    assert caught.value.path == f"/v2/role-bindings/{MISSING_BINDING}"
