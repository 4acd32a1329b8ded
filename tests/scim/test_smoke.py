"""First light: create a User, find it, deactivate it."""

from __future__ import annotations

from tests.scim.conftest import SCIM, Scim, patch, user_body


async def test_create_find_deactivate(scim: Scim) -> None:
    created = await scim.http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    found = await scim.http.get(
        f"{SCIM}/Users",
        params={"filter": 'userName eq "ADA@acme.example"', "startIndex": 1, "count": 100},
    )
    assert found.status_code == 200, found.text
    assert found.json()["totalResults"] == 1
    off = await scim.http.patch(
        f"{SCIM}/Users/{user_id}", json=patch({"op": "replace", "value": {"active": False}})
    )
    assert off.status_code in (200, 204), off.text
    events = await scim.events()
    assert [e.event_type for e in events] == ["user.created", "user.deactivated"]
    assert events[1].deployment == "offboard-user/offboard-user", events[1].last_error
