"""users: every endpoint against the emulator, with documented errors and cascades."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from arize_admin import (
    AccountRole,
    AsyncArizeAdmin,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CreatedUser,
    InviteMode,
    NotFoundError,
    PermissionDeniedError,
    PredefinedRole,
    RoleBindingResourceType,
    User,
    UserStatus,
)
from tests.fixtures.arize import ArizeTarget

from .conftest import AsUser, Seed

MISSING_USER = "VXNlcjo5OTk5OTphQmNE"  # User:99999:aBcD


async def test_list_and_filters(admin: AsyncArizeAdmin) -> None:
    page = await admin.users.list()
    emails = {user.email for user in page.items}
    assert {"admin@acme.example", "dana@acme.example", "sam@acme.example"} <= emails
    assert all(isinstance(user, User) for user in page.items)

    dana = (await admin.users.list(email="DANA")).items
    assert [user.email for user in dana] == ["dana@acme.example"]

    invited = await admin.users.create(
        name="Ivy Invited",
        email="ivy@acme.example",
        role=AccountRole.MEMBER,
        invite_mode=InviteMode.EMAIL_LINK,
    )
    only_invited = await admin.users.list(status=UserStatus.INVITED).to_list()
    assert [user.id for user in only_invited] == [invited.id]
    both = await admin.users.list(status=[UserStatus.ACTIVE, UserStatus.INVITED]).to_list()
    assert invited.id in {user.id for user in both}
    assert len(both) > len(only_invited)


async def test_get(admin: AsyncArizeAdmin, seed: Seed) -> None:
    user = await admin.users.get(seed.users["admin"])
    assert user.email == "admin@acme.example"
    assert user.name == "Avery Admin"
    assert user.status is UserStatus.ACTIVE
    assert user.role == PredefinedRole(name="ADMIN")


async def test_get_missing_is_not_found(admin: AsyncArizeAdmin) -> None:
    with pytest.raises(NotFoundError) as caught:
        await admin.users.get(MISSING_USER)
    error = caught.value
    assert error.status_code == 404
    assert error.method == "GET"
    assert error.path == "/v2/users/VXNlcjo5OTk5OTphQmNE"
    assert error.title == "Not Found"
    assert error.problem is not None
    assert error.problem.status == 404
    assert str(error).startswith("GET /v2/users/VXNlcjo5OTk5OTphQmNE: 404 Not Found")


async def test_create_with_each_invite_mode(admin: AsyncArizeAdmin) -> None:
    active = await admin.users.create(
        name="Nia None", email="nia@acme.example", role="MEMBER", invite_mode="NONE"
    )
    assert isinstance(active, CreatedUser)
    assert active.newly_created is True
    assert active.status is UserStatus.ACTIVE
    assert active.invite_mode is InviteMode.NONE
    assert active.temporary_password is None

    temp = await admin.users.create(
        name="Tom Temp",
        email="tom@acme.example",
        role=PredefinedRole(name="ANNOTATOR"),
        invite_mode=InviteMode.TEMPORARY_PASSWORD,
    )
    assert temp.status is UserStatus.INVITED
    assert isinstance(temp.temporary_password, SecretStr)
    assert temp.temporary_password.get_secret_value()
    assert temp.role == PredefinedRole(name="ANNOTATOR")


async def test_create_is_idempotent_for_a_pending_invitation(admin: AsyncArizeAdmin) -> None:
    first = await admin.users.create(
        name="Pat Pending",
        email="pat@acme.example",
        role="MEMBER",
        invite_mode=InviteMode.TEMPORARY_PASSWORD,
    )
    again = await admin.users.create(
        name="Pat Pending",
        email="pat@acme.example",
        role="MEMBER",
        invite_mode=InviteMode.TEMPORARY_PASSWORD,
    )
    assert first.newly_created is True
    assert again.newly_created is False
    assert again.id == first.id
    assert again.invite_mode is InviteMode.TEMPORARY_PASSWORD
    assert again.temporary_password is None


async def test_create_conflicts_with_an_active_user(admin: AsyncArizeAdmin) -> None:
    with pytest.raises(ConflictError) as caught:
        await admin.users.create(
            name="Dana Again", email="dana@acme.example", role="MEMBER", invite_mode="EMAIL_LINK"
        )
    assert caught.value.status_code == 409
    assert caught.value.method == "POST"
    assert caught.value.path == "/v2/users"
    assert caught.value.is_transient is False


async def test_member_cannot_create_an_admin(as_user: AsUser, seed: Seed) -> None:
    dana = await as_user(seed.users["dana"])
    with pytest.raises(PermissionDeniedError) as caught:
        await dana.users.create(
            name="Eve", email="eve@acme.example", role="ADMIN", invite_mode="NONE"
        )
    assert caught.value.status_code == 403
    assert caught.value.path == "/v2/users"


async def test_update(admin: AsyncArizeAdmin, seed: Seed) -> None:
    renamed = await admin.users.update(seed.users["sam"], name="  Sam Renamed  ")
    assert renamed.name == "Sam Renamed"
    developer = await admin.users.update(seed.users["sam"], is_developer=False)
    assert developer.is_developer is False
    assert (await admin.users.get(seed.users["sam"])).name == "Sam Renamed"


async def test_update_errors(admin: AsyncArizeAdmin, as_user: AsUser, seed: Seed) -> None:
    with pytest.raises(BadRequestError) as caught:
        await admin.users.update(seed.users["sam"], name="   ")
    assert caught.value.status_code == 400
    assert caught.value.method == "PATCH"

    dana = await as_user(seed.users["dana"])
    with pytest.raises(PermissionDeniedError):
        await dana.users.update(seed.users["sam"], is_developer=True)

    with pytest.raises(NotFoundError):
        await admin.users.update(MISSING_USER, name="Nobody")


async def test_delete_blocks_the_user_for_good(admin: AsyncArizeAdmin, seed: Seed) -> None:
    await admin.users.delete(seed.users["sam"])
    assert "sam@acme.example" not in {u.email async for u in admin.users.list()}
    await admin.users.delete(seed.users["sam"])  # idempotent: still 204
    with pytest.raises(ConflictError):
        await admin.users.create(
            name="Sam Back", email="sam@acme.example", role="MEMBER", invite_mode="EMAIL_LINK"
        )
    with pytest.raises(NotFoundError):
        await admin.users.delete(MISSING_USER)


async def test_delete_cascades(admin: AsyncArizeAdmin, as_user: AsUser, seed: Seed) -> None:
    lee_id = seed.users["lee.leaver"]
    lee = await as_user(lee_id)
    assert await lee.users.get(lee_id)
    bindings = [
        b
        async for b in admin.role_bindings.list(resource_type=RoleBindingResourceType.PROJECT)
        if b.user_id == lee_id
    ]
    assert bindings

    await admin.users.delete(lee_id)

    with pytest.raises(AuthenticationError):  # user keys die with the user
        await lee.users.get(lee_id)
    with pytest.raises(NotFoundError):
        await admin.role_bindings.get(bindings[0].id)
    with pytest.raises(NotFoundError):  # space membership gone
        await admin.spaces.remove_user(seed.spaces["fraud-detection"], user_id=lee_id)
    with pytest.raises(NotFoundError):  # org membership gone
        await admin.organizations.remove_user(seed.org, user_id=lee_id)


async def test_resend_invitation(admin: AsyncArizeAdmin, seed: Seed) -> None:
    invited = await admin.users.create(
        name="Rae Resend", email="rae@acme.example", role="MEMBER", invite_mode="EMAIL_LINK"
    )
    assert await admin.users.resend_invitation(invited.id) is None
    with pytest.raises(BadRequestError) as caught:  # already verified
        await admin.users.resend_invitation(seed.users["dana"])
    assert caught.value.path.endswith("/resend-invitation")
    with pytest.raises(NotFoundError):
        await admin.users.resend_invitation(MISSING_USER)


async def test_reset_password(admin: AsyncArizeAdmin, seed: Seed) -> None:
    assert await admin.users.reset_password(seed.users["dana"]) is None
    invited = await admin.users.create(
        name="Una Unverified", email="una@acme.example", role="MEMBER", invite_mode="EMAIL_LINK"
    )
    with pytest.raises(BadRequestError):
        await admin.users.reset_password(invited.id)
    with pytest.raises(NotFoundError):
        await admin.users.reset_password(MISSING_USER)


async def test_find_by_email(admin: AsyncArizeAdmin, seed: Seed) -> None:
    found = await admin.users.find_by_email("Dana@ACME.example")
    assert found is not None
    assert found.id == seed.users["dana"]
    assert await admin.users.find_by_email("ana@acme.example") is None  # substring only
    assert await admin.users.find_by_email("nobody@acme.example") is None


async def test_bad_key_is_an_authentication_error(arize: ArizeTarget) -> None:
    async with AsyncArizeAdmin(api_key="ak-wrong", base_url=arize.base_url) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.users.list()
    assert caught.value.status_code == 401
    assert caught.value.is_transient is False
