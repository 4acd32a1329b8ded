"""No key value or temporary password in reprs, messages or logs (DEBUG, httpx included)."""

from __future__ import annotations

import logging

import httpx
import pytest

from arize_admin import (
    APIStatusError,
    ArizeError,
    AsyncArizeAdmin,
    InviteMode,
    ServiceKeyOrgAssignment,
    ServiceKeySpaceAssignment,
)
from blocks import ArizeCredentials
from tests.fixtures.arize import ArizeTarget

KNOWN_KEY = "ak-known-SECRET-value-0123456789abcdef"
MISSING_USER = "VXNlcjo5OTk5OTphQmNE"


def test_block_and_client_hide_the_key() -> None:
    block = ArizeCredentials(api_key=KNOWN_KEY, base_url="http://127.0.0.1:9")
    client = block.get_client()
    for text in (repr(block), str(block), block.model_dump_json(), repr(client), str(client)):
        assert KNOWN_KEY not in text
    assert client.api_key.get_secret_value() == KNOWN_KEY
    assert client.base_url == "http://127.0.0.1:9"
    assert client.max_concurrency == block.max_concurrency


async def test_block_get_client_returns_a_new_client_each_time() -> None:
    block = ArizeCredentials(api_key=KNOWN_KEY, region="eu-west-1a", timeout=5)
    first, second = block.get_client(), block.get_client()
    assert first is not second
    assert first.base_url == "https://api.eu-west-1a.arize.com"
    assert first.timeout == 5
    await first.aclose()
    await second.aclose()


async def test_no_secret_reaches_logs_reprs_or_errors(
    arize: ArizeTarget, control: httpx.AsyncClient, debug_logs: pytest.LogCaptureFixture
) -> None:
    response = await control.post("/_emulator/reset", json={"seed": "demo", "admin_key": KNOWN_KEY})
    response.raise_for_status()
    assert response.json()["admin_key"] == KNOWN_KEY

    for name in ("httpx", "httpcore", "arize_admin"):
        debug_logs.set_level(logging.DEBUG, logger=name)

    texts: list[str] = []
    secrets = [KNOWN_KEY]
    async with AsyncArizeAdmin(api_key=KNOWN_KEY, base_url=arize.base_url) as client:
        texts.append(repr(client))
        texts.append(repr(client.with_options(max_retries=0)))
        org = await client.organizations.find_by_name("Acme")
        assert org is not None
        space = await client.spaces.find_by_name("ml-platform")
        assert space is not None

        temp = await client.users.create(
            name="Tess Temp",
            email="tess@acme.example",
            role="MEMBER",
            invite_mode=InviteMode.TEMPORARY_PASSWORD,
        )
        assert temp.temporary_password is not None
        secrets.append(temp.temporary_password.get_secret_value())
        texts += [repr(temp), str(temp), temp.model_dump_json()]

        user_key = await client.api_keys.create_user_key(name="leak-check")
        secrets.append(user_key.key.get_secret_value())
        texts += [repr(user_key), str(user_key), user_key.model_dump_json()]

        service_key = await client.api_keys.create_service_key(
            name="leak-check-svc",
            organizations=[
                ServiceKeyOrgAssignment(
                    org_id=org.id, spaces=[ServiceKeySpaceAssignment(space_id=space.id)]
                )
            ],
        )
        secrets.append(service_key.key.get_secret_value())
        texts += [repr(service_key), service_key.model_dump_json()]

        refreshed = await client.api_keys.refresh(user_key.id)
        secrets.append(refreshed.key.get_secret_value())
        texts += [repr(refreshed), refreshed.model_dump_json()]

        errors: list[ArizeError] = []
        for call in (
            lambda: client.users.get(MISSING_USER),
            lambda: client.organizations.create(name="Acme"),
            lambda: client.api_keys.refresh(MISSING_USER),
        ):
            with pytest.raises(APIStatusError) as caught:
                await call()
            errors.append(caught.value)
        async with AsyncArizeAdmin(
            api_key=user_key.key, base_url=arize.base_url
        ) as revoked:  # revoked by the refresh: a 401
            with pytest.raises(APIStatusError) as caught:
                await revoked.users.list()
            errors.append(caught.value)
            texts.append(repr(revoked))
        for error in errors:
            texts += [str(error), repr(error), repr(error.problem), repr(vars(error))]

    texts += [record.getMessage() for record in debug_logs.records]
    texts.append(debug_logs.text)
    assert any("HTTP Request" in record.getMessage() for record in debug_logs.records)
    for secret in secrets:
        assert secret
        for text in texts:
            assert secret not in text
