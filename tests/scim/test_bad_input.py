"""Bad input gets a SCIM error body and changes nothing: not a resource, not an outbox row,
not an inbox event."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.scim.conftest import SCIM, Scim, patch, user_body
from webhooks.scim import tokens

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


async def _user(scim: Scim, name: str = "ada@acme.example") -> str:
    created = await scim.http.post(f"{SCIM}/Users", json=user_body(name))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _is_scim_error(response: httpx.Response, status: int, scim_type: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body


@pytest.mark.parametrize(
    "query",
    [
        'userName eq "ada@acme.example',  # unterminated string
        'userName eq "ada@acme.example" and',  # dangling and
        'userName xx "ada"',  # unknown operator
        'nickname eq "x" or (userName',  # unbalanced
    ],
)
async def test_malformed_filter(scim: Scim, query: str) -> None:
    await _user(scim)
    before = await scim.counts()
    response = await scim.http.get(f"{SCIM}/Users", params={"filter": query})
    _is_scim_error(response, 400, "invalidFilter")
    assert await scim.counts() == before


async def test_unknown_attribute_in_a_filter(scim: Scim) -> None:
    response = await scim.http.get(f"{SCIM}/Users", params={"filter": 'shoeSize eq "42"'})
    _is_scim_error(response, 400, "invalidFilter")


async def test_unknown_attribute_in_a_create_or_put(scim: Scim) -> None:
    user_id = await _user(scim)
    before, stored = await scim.counts(), await scim.snapshot()
    created = await scim.http.post(
        f"{SCIM}/Users", json={**user_body("bob@acme.example"), "shoeSize": 42}
    )
    _is_scim_error(created, 400)
    replaced = await scim.http.put(
        f"{SCIM}/Users/{user_id}", json={**user_body("ada@acme.example"), "shoeSize": 42}
    )
    _is_scim_error(replaced, 400)
    assert await scim.counts() == before
    assert await scim.snapshot() == stored


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "shoeSize", "value": 42},
        {"op": "add", "path": "name.middleName.extra", "value": "x"},
        {"op": "remove", "path": "emails[type eq"},
        {"op": "jump", "path": "active", "value": False},
    ],
)
async def test_patch_on_an_unknown_path_changes_nothing(
    scim: Scim, operation: dict[str, Any]
) -> None:
    user_id = await _user(scim)
    before, stored = await scim.counts(), await scim.snapshot()
    # A good operation first: the bad one must undo the whole request, not half of it.
    response = await scim.http.patch(
        f"{SCIM}/Users/{user_id}",
        json=patch({"op": "replace", "path": "active", "value": False}, operation),
    )
    _is_scim_error(response, 400)
    assert await scim.counts() == before
    assert await scim.snapshot() == stored


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "bearer arb_scim_forged"],
)
async def test_wrong_token(scim: Scim, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    before = await scim.counts()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=scim.app), base_url="http://scim.test"
    ) as anonymous:
        created = await anonymous.post(
            f"{SCIM}/Users", json=user_body("eve@acme.example"), headers=headers
        )
        listed = await anonymous.get(f"{SCIM}/Users", headers=headers)
        # Discovery of the service's configuration needs no token (RFC 7644 §4).
        config = await anonymous.get(f"{SCIM}/ServiceProviderConfig", headers=headers)
    _is_scim_error(created, 401)
    _is_scim_error(listed, 401)
    assert created.headers["www-authenticate"].startswith("Bearer")
    assert config.status_code == 200
    assert config.json()["patch"]["supported"] is True
    assert await scim.counts() == before


async def test_tokens_rotate_and_revoke(scim: Scim) -> None:
    engine = scim.inbox.engine
    cache = scim.app.state.scim.tokens
    now = [1000.0]
    cache.clock = lambda: now[0]
    second = await tokens.create(engine, "idp-next")
    assert second != scim.token and second.startswith(tokens.PREFIX)
    for token in (scim.token, second):  # several at once: the IdP switches without a gap
        answer = await scim.http.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
    await tokens.revoke(engine, "idp")
    # The process verified the old token less than token_cache_seconds ago: still accepted,
    # on GET and on a write alike, until its entry expires.
    now[0] += cache.seconds - 0.01
    for method in ("GET", "POST"):
        kept = await scim.http.request(
            method,
            f"{SCIM}/Users",
            headers={"Authorization": f"Bearer {scim.token}"},
            json=user_body("kept@acme.example") if method == "POST" else None,
        )
        assert kept.status_code in (200, 201)
    now[0] += 0.01
    for method in ("GET", "POST"):
        old = await scim.http.request(
            method,
            f"{SCIM}/Users",
            headers={"Authorization": f"Bearer {scim.token}"},
            json=user_body("late@acme.example") if method == "POST" else None,
        )
        _is_scim_error(old, 401)
    new = await scim.http.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {second}"})
    assert new.status_code == 200
    with pytest.raises(tokens.TokenError, match="taken"):
        await tokens.create(engine, "idp")
    with pytest.raises(tokens.TokenError, match="no live token"):
        await tokens.revoke(engine, "idp")
    # Only the digest is stored.
    async with engine.connect() as connection:
        from sqlalchemy import text

        stored = (await connection.execute(text("SELECT digest FROM scim_tokens"))).scalars().all()
    assert second not in stored and tokens.digest(second) in stored


async def test_ten_thousand_members_in_one_patch(scim: Scim) -> None:
    user_id = await _user(scim)
    group = await scim.http.post(
        f"{SCIM}/Groups",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "everyone",
            "members": [{"value": user_id}],
        },
    )
    group_id = group.json()["id"]
    before, stored = await scim.counts(), await scim.snapshot()
    members = [{"value": user_id}] + [{"value": uuid.uuid4().hex} for _ in range(9_999)]
    response = await scim.http.patch(
        f"{SCIM}/Groups/{group_id}",
        json=patch({"op": "add", "path": "members", "value": members}),
    )
    _is_scim_error(response, 400, "invalidValue")
    assert "at most 5000" in response.json()["detail"]
    assert await scim.counts() == before
    assert await scim.snapshot() == stored


async def test_members_must_be_users(scim: Scim) -> None:
    await _user(scim)
    before = await scim.counts()
    response = await scim.http.post(
        f"{SCIM}/Groups",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "ghosts",
            "members": [{"value": "no-such-user"}],
        },
    )
    _is_scim_error(response, 400, "invalidValue")
    assert "no-such-user" in response.json()["detail"]
    assert await scim.counts() == before


async def test_body_too_large(scim: Scim) -> None:
    before = await scim.counts()
    big = {**user_body("big@acme.example"), "title": "x" * 2_000_000}
    response = await scim.http.post(f"{SCIM}/Users", json=big)
    _is_scim_error(response, 413)
    assert await scim.counts() == before


async def test_not_json(scim: Scim) -> None:
    before = await scim.counts()
    response = await scim.http.post(
        f"{SCIM}/Users", content=b"{not json", headers={"Content-Type": "application/scim+json"}
    )
    _is_scim_error(response, 400)
    assert await scim.counts() == before


async def test_values_stay_out_of_the_logs(
    scim: Scim, debug_logs: pytest.LogCaptureFixture
) -> None:
    await _user(scim, "secret.person@acme.example")
    await scim.http.get(f"{SCIM}/Users", params={"filter": 'emails.value eq "not-an-address"'})
    await scim.http.post(f"{SCIM}/Users", json=user_body("secret.person@acme.example"))  # 409
    await scim.http.post(
        f"{SCIM}/Users", json={**user_body("other.person@acme.example"), "shoeSize": 42}
    )
    # The service's lines (the test's own HTTP client logs the URLs it sends).
    logged = "\n".join(
        record.getMessage() + str(record.exc_info or "")
        for record in debug_logs.records
        if not record.name.startswith("httpx")
    )
    assert "webhooks.scim" in {record.name for record in debug_logs.records}
    for value in ("secret.person", "other.person", "not-an-address", scim.token):
        assert value not in logged
