"""Filtered lookups: the database narrows a search by the indexed attributes an ``eq``
filter names (one statement per filter shape, its values bound), and the filter itself
decides the answer. Each lookup finds exactly its resources, on both backends, whatever the
case of the value and whatever characters SQL treats as wildcards."""

from __future__ import annotations

from typing import Any

from tests.scim.conftest import GROUP_SCHEMA, SCIM, Scim, running, user_body


async def _user_names(scim: Scim, scim_filter: str) -> list[str]:
    found = await scim.http.get(f"{SCIM}/Users", params={"filter": scim_filter})
    assert found.status_code == 200, found.text
    body: Any = found.json()
    assert body["totalResults"] == len(body.get("Resources", []))
    return sorted(resource["userName"] for resource in body.get("Resources", []))


async def test_each_indexed_attribute_finds_its_users_and_only_them(inbox_url: str) -> None:
    async with running(inbox_url) as scim:
        people = {
            "ada@acme.example": "ext-ada",
            "a_a@acme.example": "ext-a_a",
            "a%a@acme.example": "ext-a%a",
            "grace@acme.example": "ext-grace",
        }
        for name, external_id in people.items():
            created = await scim.http.post(
                f"{SCIM}/Users", json=user_body(name, externalId=external_id)
            )
            assert created.status_code == 201, created.text

        assert await _user_names(scim, 'userName eq "ADA@acme.example"') == ["ada@acme.example"]
        assert await _user_names(scim, 'emails.value eq "Grace@Acme.Example"') == [
            "grace@acme.example"
        ]
        # "_" and "%" are LIKE wildcards: the bound value narrows, the filter decides.
        assert await _user_names(scim, 'emails.value eq "a_a@acme.example"') == [
            "a_a@acme.example"
        ]
        assert await _user_names(scim, 'emails.value eq "a%a@acme.example"') == [
            "a%a@acme.example"
        ]
        assert await _user_names(scim, 'externalId eq "ext-ada"') == ["ada@acme.example"]
        assert await _user_names(scim, 'externalId eq "EXT-ADA"') == []  # case-exact
        both = 'userName eq "ada@acme.example" and externalId eq "ext-ada"'
        assert await _user_names(scim, both) == ["ada@acme.example"]
        contradiction = 'userName eq "ada@acme.example" and externalId eq "ext-grace"'
        assert await _user_names(scim, contradiction) == []
        # Not narrowed (an "or"): the filter alone decides, over every user.
        either = 'userName eq "ada@acme.example" or externalId eq "ext-grace"'
        assert await _user_names(scim, either) == ["ada@acme.example", "grace@acme.example"]
        # The same shape again, other values: the kept statement binds the new ones.
        assert await _user_names(scim, 'userName eq "grace@acme.example"') == [
            "grace@acme.example"
        ]
        assert await _user_names(scim, 'userName eq "nobody@acme.example"') == []


async def test_a_group_lookup_by_display_name_finds_that_group(inbox_url: str) -> None:
    async with running(inbox_url) as scim:
        for name in ("arize-admins", "Arize-Editors"):
            created = await scim.http.post(
                f"{SCIM}/Groups",
                json={"schemas": [GROUP_SCHEMA], "displayName": name, "members": []},
            )
            assert created.status_code == 201, created.text
        found = await scim.http.get(
            f"{SCIM}/Groups", params={"filter": 'displayName eq "arize-editors"'}
        )
        assert found.status_code == 200, found.text
        assert [g["displayName"] for g in found.json()["Resources"]] == ["Arize-Editors"]
        # A user lookup never returns a group that shares the value.
        assert await _user_names(scim, 'userName eq "arize-admins"') == []
