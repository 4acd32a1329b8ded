"""roles: predefined vs custom, CRUD, nullable description, conflicts."""

from __future__ import annotations

import pytest

from arize_admin import (
    AsyncArizeAdmin,
    ConflictError,
    NotFoundError,
    Permission,
    PermissionDeniedError,
    Role,
)

from .conftest import AsUser, Seed

MISSING_ROLE = "Um9sZTo5OTk5OlY0S2E="  # Role:9999:V4Ka


async def test_list_predefined_and_custom(admin: AsyncArizeAdmin) -> None:
    custom = await admin.roles.list(is_predefined=False).to_list()
    assert {"Project Viewer", "Space Editor"} <= {role.name for role in custom}
    assert all(not role.is_predefined for role in custom)
    predefined = await admin.roles.list(is_predefined=True).to_list()
    assert predefined
    assert all(role.is_predefined for role in predefined)
    everything = await admin.roles.list().to_list()
    assert len(everything) == len(custom) + len(predefined)


async def test_get_and_find(admin: AsyncArizeAdmin, seed: Seed) -> None:
    role = await admin.roles.get(seed.roles["Project Viewer"])
    assert isinstance(role, Role)
    assert Permission.PROJECT_READ in role.permissions
    found = await admin.roles.find_by_name("Project Viewer")
    assert found is not None
    assert found.id == role.id
    assert await admin.roles.find_by_name("project viewer") is None
    with pytest.raises(NotFoundError) as caught:
        await admin.roles.get(MISSING_ROLE)
    assert caught.value.path == "/v2/roles/Um9sZTo5OTk5OlY0S2E%3D"


async def test_create_update_delete(admin: AsyncArizeAdmin) -> None:
    role = await admin.roles.create(
        name="Auditor",
        permissions=[Permission.USER_READ, "ROLE_READ"],
        description="reads things",
    )
    assert role.name == "Auditor"
    assert set(role.permissions) == {Permission.USER_READ, Permission.ROLE_READ}
    assert role.description == "reads things"
    assert role.is_predefined is False

    replaced = await admin.roles.update(role.id, permissions=[Permission.SPACE_READ])
    assert replaced.permissions == [Permission.SPACE_READ]
    assert replaced.description == "reads things"
    cleared = await admin.roles.update(role.id, description=None, name="Auditor II")
    assert cleared.description in (None, "")
    assert cleared.name == "Auditor II"

    await admin.roles.delete(role.id)
    with pytest.raises(NotFoundError):
        await admin.roles.get(role.id)


async def test_unknown_permission_is_refused_locally(admin: AsyncArizeAdmin) -> None:
    with pytest.raises(ValueError):
        await admin.roles.create(name="Bad", permissions=["NOT_A_PERMISSION"])


async def test_conflicts(admin: AsyncArizeAdmin, seed: Seed) -> None:
    with pytest.raises(ConflictError) as caught:
        await admin.roles.create(name="Space Editor", permissions=[Permission.SPACE_READ])
    assert caught.value.status_code == 409
    assert caught.value.path == "/v2/roles"
    with pytest.raises(ConflictError):
        await admin.roles.update(seed.roles["Space Editor"], name="Project Viewer")
    # Lee's binding on fraud-model still uses "Project Viewer".
    with pytest.raises(ConflictError) as caught:
        await admin.roles.delete(seed.roles["Project Viewer"])
    assert caught.value.method == "DELETE"


async def test_member_cannot_create_roles(as_user: AsUser, seed: Seed) -> None:
    dana = await as_user(seed.users["dana"])
    with pytest.raises(PermissionDeniedError) as caught:
        await dana.roles.create(name="Mine", permissions=[Permission.SPACE_READ])
    assert caught.value.status_code == 403
