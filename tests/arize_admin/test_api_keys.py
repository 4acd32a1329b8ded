"""api_keys: user and service keys, refresh with grace, revoke, list filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from arize_admin import (
    ApiKeyStatus,
    ApiKeyType,
    AsyncArizeAdmin,
    AuthenticationError,
    BadRequestError,
    CreatedServiceApiKey,
    CreatedUserApiKey,
    NotFoundError,
    PermissionDeniedError,
    PredefinedRole,
    RefreshedApiKey,
    ServiceApiKey,
    ServiceKeyOrgAssignment,
    ServiceKeySpaceAssignment,
    SpaceRole,
    UnprocessableEntityError,
    UserApiKey,
)
from tests.fixtures.arize import ArizeTarget

from .conftest import AsUser, Seed

MISSING_KEY = "QXBpS2V5Ojk5OTk6YWJjZA=="  # ApiKey:9999:abcd


async def test_user_key_lifecycle(admin: AsyncArizeAdmin, arize: ArizeTarget) -> None:
    created = await admin.api_keys.create_user_key(name="laptop", description="dev box")
    assert isinstance(created, CreatedUserApiKey)
    assert created.key_type == "USER"
    assert isinstance(created.key, SecretStr)
    assert created.status is ApiKeyStatus.ACTIVE
    assert created.key.get_secret_value() not in created.redacted_key

    async with AsyncArizeAdmin(api_key=created.key, base_url=arize.base_url) as mine:
        assert (await mine.users.list()).items  # the new key authenticates as the admin

    listed = await admin.api_keys.list().to_list()
    assert created.id in {key.id for key in listed}
    assert all(isinstance(key, UserApiKey) for key in listed)

    await admin.api_keys.revoke(created.id)
    await admin.api_keys.revoke(created.id)  # idempotent
    async with AsyncArizeAdmin(api_key=created.key, base_url=arize.base_url) as mine:
        with pytest.raises(AuthenticationError):
            await mine.users.list()
    revoked = await admin.api_keys.list(status=ApiKeyStatus.REVOKED).to_list()
    assert created.id in {key.id for key in revoked}


async def test_user_key_with_expiry(admin: AsyncArizeAdmin) -> None:
    expires = datetime.now(UTC) + timedelta(days=30)
    created = await admin.api_keys.create_user_key(name="short-lived", expires_at=expires)
    assert created.expires_at is not None
    assert abs((created.expires_at - expires).total_seconds()) < 1


async def test_service_keys_of_a_space(admin: AsyncArizeAdmin, seed: Seed) -> None:
    keys = await admin.api_keys.list(space_id=seed.spaces["search-ranking"]).to_list()
    names = {key.name for key in keys}
    assert {"etl-search-ranking", "lee-etl"} <= names
    assert all(isinstance(key, ServiceApiKey) for key in keys)
    assert all(key.bot_user.id for key in keys if isinstance(key, ServiceApiKey))
    by_lee = await admin.api_keys.list(
        key_type=ApiKeyType.SERVICE,
        space_id=seed.spaces["search-ranking"],
        user_id=seed.users["lee.leaver"],
    ).to_list()
    assert [key.name for key in by_lee] == ["lee-etl"]


async def test_create_service_key(admin: AsyncArizeAdmin, seed: Seed, arize: ArizeTarget) -> None:
    created = await admin.api_keys.create_service_key(
        name="ci-ml-platform",
        description="CI",
        organizations=[
            ServiceKeyOrgAssignment(
                org_id=seed.org,
                role="READ_ONLY",
                spaces=[
                    ServiceKeySpaceAssignment(
                        space_id=seed.spaces["ml-platform"], role=SpaceRole.MEMBER
                    )
                ],
            )
        ],
    )
    assert isinstance(created, CreatedServiceApiKey)
    assert created.key_type == "SERVICE"
    bot = created.bot_user
    assert bot.id
    assert len(bot.organizations) >= 1
    assert bot.organizations[0].org_id == seed.org
    assert bot.organizations[0].spaces[0].space_id == seed.spaces["ml-platform"]
    assert bot.account_role == PredefinedRole(name="MEMBER")

    # The bot user is a user id that role bindings accept.
    binding = await admin.role_bindings.create(
        user_id=bot.id,
        role_id=seed.roles["Project Viewer"],
        resource_type="PROJECT",
        resource_id=seed.projects["feature-store"],
    )
    assert binding.user_id == bot.id

    async with AsyncArizeAdmin(api_key=created.key, base_url=arize.base_url) as ci:
        assert await ci.spaces.get(seed.spaces["ml-platform"])


async def test_create_service_key_errors(
    admin: AsyncArizeAdmin, as_user: AsUser, seed: Seed
) -> None:
    orgs = [
        ServiceKeyOrgAssignment(
            org_id=seed.org,
            spaces=[ServiceKeySpaceAssignment(space_id=seed.spaces["ml-platform"])],
        )
    ]
    with pytest.raises(BadRequestError) as caught:
        await admin.api_keys.create_service_key(
            name="x", organizations=orgs, account_role="ANNOTATOR"
        )
    assert caught.value.status_code == 400
    assert caught.value.path == "/v2/api-keys"
    annotator_space = [
        ServiceKeyOrgAssignment(
            org_id=seed.org,
            spaces=[
                ServiceKeySpaceAssignment(space_id=seed.spaces["ml-platform"], role="ANNOTATOR")
            ],
        )
    ]
    with pytest.raises(UnprocessableEntityError) as caught:
        await admin.api_keys.create_service_key(name="y", organizations=annotator_space)
    assert caught.value.status_code == 422

    dana = await as_user(seed.users["dana"])
    with pytest.raises(PermissionDeniedError):  # no SERVICE_KEY_CREATE in ml-platform
        await dana.api_keys.create_service_key(name="z", organizations=orgs)

    with pytest.raises(ValueError):
        await admin.api_keys.create_service_key(name="none", organizations=[])
    with pytest.raises(ValueError):
        await admin.api_keys.create_service_key(
            name="empty", organizations=[ServiceKeyOrgAssignment(org_id=seed.org)]
        )


async def test_refresh_keeps_identity_and_retires_the_old_secret(
    admin: AsyncArizeAdmin, arize: ArizeTarget
) -> None:
    created = await admin.api_keys.create_user_key(name="rotating")
    refreshed = await admin.api_keys.refresh(created.id)
    assert isinstance(refreshed, RefreshedApiKey)
    assert refreshed.id == created.id
    assert refreshed.name == "rotating"
    assert refreshed.key_type is ApiKeyType.USER
    assert refreshed.key.get_secret_value() != created.key.get_secret_value()

    base_url = arize.base_url
    async with AsyncArizeAdmin(api_key=created.key, base_url=base_url) as old:
        with pytest.raises(AuthenticationError):
            await old.users.list()
    async with AsyncArizeAdmin(api_key=refreshed.key, base_url=base_url) as new:
        assert (await new.users.list()).items


async def test_refresh_with_grace_keeps_the_old_secret_working(
    admin: AsyncArizeAdmin, arize: ArizeTarget
) -> None:
    created = await admin.api_keys.create_user_key(name="graceful")
    await admin.api_keys.refresh(created.id, grace_period_seconds=300)
    async with AsyncArizeAdmin(api_key=created.key, base_url=arize.base_url) as old:
        assert (await old.users.list()).items


async def test_refresh_expiry_rules(admin: AsyncArizeAdmin, seed: Seed) -> None:
    keys = await admin.api_keys.list(space_id=seed.spaces["search-ranking"]).to_list()
    expiring = next(key for key in keys if key.name == "etl-search-ranking")
    assert expiring.expires_at is not None
    # A body without expires_at would leave the key unbounded; an empty body inherits.
    with pytest.raises(UnprocessableEntityError) as caught:
        await admin.api_keys.refresh(expiring.id, grace_period_seconds=60)
    assert caught.value.status_code == 422
    assert caught.value.path.endswith("/refresh")
    with pytest.raises(UnprocessableEntityError):  # extending is refused
        await admin.api_keys.refresh(
            expiring.id, expires_at=expiring.expires_at + timedelta(days=30)
        )
    inherited = await admin.api_keys.refresh(expiring.id)
    assert inherited.expires_at == expiring.expires_at
    ok = await admin.api_keys.refresh(
        expiring.id, expires_at=expiring.expires_at - timedelta(days=1)
    )
    assert ok.id == expiring.id
    assert ok.key_type is ApiKeyType.SERVICE


async def test_missing_and_forbidden(admin: AsyncArizeAdmin, as_user: AsUser, seed: Seed) -> None:
    with pytest.raises(NotFoundError) as caught:
        await admin.api_keys.revoke(MISSING_KEY)
    assert caught.value.method == "PUT"
    assert caught.value.path == "/v2/api-keys/QXBpS2V5Ojk5OTk6YWJjZA%3D%3D/revoke"
    with pytest.raises(NotFoundError):
        await admin.api_keys.refresh(MISSING_KEY)
    dana = await as_user(seed.users["dana"])
    with pytest.raises(PermissionDeniedError):  # another user's keys: admins only
        await dana.api_keys.list(user_id=seed.users["sam"]).to_list()
