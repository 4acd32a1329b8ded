"""Okta's and Entra ID's provisioning, replayed as their documentation shows the requests
(Okta's SCIM 2.0 guide; Microsoft's SCIM tutorial and its "known issues" page for the default,
non-compliant shapes and for the ``aadOptscim062020`` compliant ones): create, lookup, group
push, deactivate, reactivate, delete. Each step checks the answer, and the run ends with the
inbox events the runbooks get, routed by examples/routing-scim.yaml to parameters the
runbooks' own spec models accept."""

from __future__ import annotations

from typing import Any

import pytest

from flows.registry import BY_NAME
from tests.scim.conftest import GROUP_SCHEMA, SCIM, USER_SCHEMA, Scim, patch, running, user_body
from webhooks.inbox_records import EventStatus

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _spec_is_valid(deployment: str, parameters: dict[str, Any]) -> None:
    runbook = BY_NAME[deployment.split("/", 1)[0]]
    runbook.spec.model_validate(parameters["spec"])


async def _routed(scim: Scim) -> list[tuple[str, str | None]]:
    """(event type, deployment) of every SCIM event, with each routed spec validated."""
    found = []
    for event in await scim.events():
        if event.deployment is not None:
            assert event.parameters is not None
            _spec_is_valid(event.deployment, event.parameters)
        else:
            assert event.status is EventStatus.DEAD  # no route: kept, visible, never run
        found.append((event.event_type, event.deployment))
    return found


async def test_okta_sequence(scim: Scim) -> None:
    http = scim.http
    # Import: Okta looks the person up first, with paging parameters.
    lookup = {"filter": 'userName eq "ada@acme.example"', "startIndex": 1, "count": 100}
    empty = await http.get(f"{SCIM}/Users", params=lookup)
    assert empty.status_code == 200
    assert empty.json()["totalResults"] == 0 and isinstance(empty.json()["totalResults"], int)
    body = user_body("ada@acme.example", externalId="00u1ab2cd3", locale="en-US")
    body["password"] = "t1meMa$heen"  # Okta sends one when password sync is on
    body["groups"] = []
    created = await http.post(f"{SCIM}/Users", json=body)
    assert created.status_code == 201, created.text
    user = created.json()
    assert "password" not in user
    user_id = user["id"]
    duplicate = await http.post(f"{SCIM}/Users", json=body)
    assert duplicate.status_code == 409
    assert duplicate.json()["scimType"] == "uniqueness"
    found = (await http.get(f"{SCIM}/Users", params=lookup)).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == user_id
    assert (await http.get(f"{SCIM}/Users/{user_id}")).json()["userName"] == "ada@acme.example"
    # Profile push: custom apps PUT the whole user.
    replaced = await http.put(
        f"{SCIM}/Users/{user_id}",
        json={**user_body("ada@acme.example", given="Ada", family="King"), "id": user_id},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["name"]["familyName"] == "King"
    # Group push: create, add, remove by filter, full replace.
    group = await http.post(
        f"{SCIM}/Groups",
        json={"schemas": [GROUP_SCHEMA], "displayName": "arize-space-editors", "members": []},
    )
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]
    added = await http.patch(
        f"{SCIM}/Groups/{group_id}",
        json=patch(
            {
                "op": "add",
                "path": "members",
                "value": [{"value": user_id, "display": "ada@acme.example"}],
            }
        ),
    )
    assert added.status_code in (200, 204), added.text
    removed = await http.patch(
        f"{SCIM}/Groups/{group_id}",
        json=patch({"op": "remove", "path": f'members[value eq "{user_id}"]'}),
    )
    assert removed.status_code in (200, 204), removed.text
    full = await http.patch(
        f"{SCIM}/Groups/{group_id}",
        json=patch(
            {
                "op": "replace",
                "value": {
                    "id": group_id,
                    "displayName": "arize-space-editors",
                    "members": [{"value": user_id}],
                },
            }
        ),
    )
    assert full.status_code in (200, 204), full.text
    listed = (await http.get(f"{SCIM}/Groups/{group_id}")).json()
    assert [m["value"] for m in listed["members"]] == [user_id]
    # Leaver: Okta deactivates (never DELETEs a user), then a rehire reactivates.
    off = await http.patch(
        f"{SCIM}/Users/{user_id}", json=patch({"op": "replace", "value": {"active": False}})
    )
    assert off.status_code in (200, 204), off.text
    assert (await http.get(f"{SCIM}/Users/{user_id}")).json()["active"] is False
    on = await http.patch(
        f"{SCIM}/Users/{user_id}", json=patch({"op": "replace", "value": {"active": True}})
    )
    assert on.status_code in (200, 204)
    assert (await http.delete(f"{SCIM}/Groups/{group_id}")).status_code == 204

    assert await _routed(scim) == [
        ("user.created", "onboard-team/onboard-team"),
        ("user.renamed", "update-user-profile/update-user-profile"),  # the PUT renamed her
        ("group.changed", None),  # the group pushed, empty
        ("group.changed", "onboard-team/onboard-team"),  # ada joined: space role granted
        ("group.changed", None),  # ada left: no route in the example (see docs/scim.md)
        ("group.changed", "onboard-team/onboard-team"),  # ada back, by the full replace
        ("user.deactivated", "offboard-user/offboard-user"),
        # Reactivated: restore-user gives back the snapshot; their groups are a record only.
        ("group.changed", None),
        ("user.reactivated", "restore-user/restore-user"),
        ("group.changed", None),  # the group deleted
    ]
    events = await scim.events()
    leave = events[6]
    assert leave.payload["groups"] == ["arize-space-editors"]  # what they had, at leave
    assert leave.parameters is not None
    assert leave.parameters["spec"]["email"] == "ada@acme.example"


@pytest.mark.parametrize("dialect", ["default", "aadOptscim062020"])
async def test_entra_sequence(scim: Scim, dialect: str) -> None:
    http = scim.http
    compliant = dialect == "aadOptscim062020"
    lookup = await http.get(f"{SCIM}/Users", params={"filter": 'userName eq "grace@acme.example"'})
    assert lookup.json()["totalResults"] == 0
    created = await http.post(
        f"{SCIM}/Users",
        json={
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "externalId": "grace",
            "userName": "grace@acme.example",
            "active": True,
            "displayName": "Grace Hopper",
            "emails": [{"primary": True, "type": "work", "value": "grace@acme.example"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "Grace Hopper", "familyName": "Hopper", "givenName": "Grace"},
            "roles": [],
            ENTERPRISE: {"department": "Navy"},
        },
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    # Entra looks users up by externalId too, and groups without their members.
    by_external = await http.get(f"{SCIM}/Users", params={"filter": 'externalId eq "grace"'})
    assert by_external.json()["totalResults"] == 1
    op = (lambda name: name) if compliant else str.capitalize
    attribute = await http.patch(
        f"{SCIM}/Users/{user_id}",
        json=patch(
            {"op": op("replace"), "path": "displayName", "value": "Rear Admiral Hopper"},
            {
                "op": op("replace"),
                "path": 'emails[type eq "work"].value',
                "value": "grace@acme.example",
            },
        ),
    )
    assert attribute.status_code in (200, 204), attribute.text
    if compliant:  # path-less replace with dotted keys
        dotted = await http.patch(
            f"{SCIM}/Users/{user_id}",
            json=patch({"op": "replace", "value": {"name.givenName": "Amazing Grace"}}),
        )
        assert dotted.status_code in (200, 204), dotted.text
        assert (await http.get(f"{SCIM}/Users/{user_id}")).json()["name"]["givenName"] == (
            "Amazing Grace"
        )
    group = await http.post(
        f"{SCIM}/Groups",
        json={
            "schemas": [GROUP_SCHEMA],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "arize-space-editors",
            "meta": {"resourceType": "Group"},
            "members": [],
        },
    )
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]
    groups = await http.get(
        f"{SCIM}/Groups",
        params={"excludedAttributes": "members", "filter": 'displayName eq "arize-space-editors"'},
    )
    assert groups.json()["totalResults"] == 1
    assert "members" not in groups.json()["Resources"][0]
    add = await http.patch(
        f"{SCIM}/Groups/{group_id}",
        json=patch({"op": op("add"), "path": "members", "value": [{"value": user_id}]}),
    )
    assert add.status_code in (200, 204), add.text
    if compliant:
        remove = patch({"op": "remove", "path": f'members[value eq "{user_id}"]'})
    else:  # Remove of members with a value list
        remove = patch({"op": "Remove", "path": "members", "value": [{"value": user_id}]})
    removed = await http.patch(f"{SCIM}/Groups/{group_id}", json=remove)
    assert removed.status_code in (200, 204), removed.text
    assert not (await http.get(f"{SCIM}/Groups/{group_id}")).json().get("members")
    await http.patch(
        f"{SCIM}/Groups/{group_id}",
        json=patch({"op": op("add"), "path": "members", "value": [{"value": user_id}]}),
    )
    # Disable, enable: the default dialect sends booleans as strings.
    false, true = (False, True) if compliant else ("False", "True")
    off = await http.patch(
        f"{SCIM}/Users/{user_id}",
        json=patch({"op": op("replace"), "path": "active", "value": false}),
    )
    assert off.status_code in (200, 204), off.text
    assert (await http.get(f"{SCIM}/Users/{user_id}")).json()["active"] is False
    on = await http.patch(
        f"{SCIM}/Users/{user_id}",
        json=patch({"op": op("replace"), "path": "active", "value": true}),
    )
    assert on.status_code in (200, 204), on.text
    # Entra DELETEs users when they leave its scope.
    assert (await http.delete(f"{SCIM}/Users/{user_id}")).status_code == 204
    assert (await http.get(f"{SCIM}/Users/{user_id}")).status_code == 404
    assert not (await http.get(f"{SCIM}/Groups/{group_id}")).json().get("members")

    routed = await _routed(scim)
    assert routed[0] == ("user.created", "onboard-team/onboard-team")
    assert ("user.renamed", "update-user-profile/update-user-profile") in routed
    assert routed[-4:] == [
        ("user.deactivated", "offboard-user/offboard-user"),
        ("group.changed", None),  # their group again: restore-user gives back the snapshot
        ("user.reactivated", "restore-user/restore-user"),
        ("user.deleted", "offboard-user/offboard-user"),
    ]
    joined = [e for e in await scim.events() if e.event_type == "group.changed"]
    assert [bool(e.payload["added"]) for e in joined] == [False, True, False, True, True]
    deleted = (await scim.events())[-1]
    assert deleted.payload["groups"] == ["arize-space-editors"]
    assert deleted.payload["email"] == "grace@acme.example"


async def test_deactivate_then_reactivate_routes_the_snapshot_and_the_groups_now(
    inbox_url: str,
) -> None:
    async with running(inbox_url) as scim:
        await _restores(scim)


async def _restores(scim: Scim) -> None:
    """The leave keeps the groups the person had (into their access snapshot), and the
    reactivation starts one restore-user run with the groups they have now: a group they were
    removed from while away is not among them, so what it gave is not restored
    (tests/scim/test_reactivation.py runs both against Arize)."""
    http = scim.http
    user_id = (await http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))).json()["id"]
    groups = {}
    for name in ("arize-space-editors", "arize-fraud-auditors"):
        created = await http.post(
            f"{SCIM}/Groups",
            json={"schemas": [GROUP_SCHEMA], "displayName": name, "members": [{"value": user_id}]},
        )
        groups[name] = created.json()["id"]
    before_leave = len(await scim.events())
    off = patch({"op": "replace", "value": {"active": False}})
    assert (await http.patch(f"{SCIM}/Users/{user_id}", json=off)).status_code == 204
    [leave] = [e for e in (await scim.events())[before_leave:] if e.deployment]
    assert leave.deployment == "offboard-user/offboard-user"
    assert leave.parameters is not None
    assert leave.parameters["spec"]["keep_account"] is True
    assert sorted(leave.parameters["spec"]["idp_groups"]) == sorted(groups)
    # While away, the IdP takes them out of one group.
    await http.patch(
        f"{SCIM}/Groups/{groups['arize-fraud-auditors']}",
        json=patch({"op": "remove", "path": f'members[value eq "{user_id}"]'}),
    )
    before = len(await scim.events())
    on = patch({"op": "replace", "value": {"active": True}})
    assert (await http.patch(f"{SCIM}/Users/{user_id}", json=on)).status_code == 204
    back = [e for e in (await scim.events())[before:] if e.deployment]
    assert [e.deployment for e in back] == ["restore-user/restore-user"]
    assert back[0].parameters is not None
    assert back[0].parameters["spec"]["groups"] == ["arize-space-editors"]
    rejoins = [e for e in (await scim.events())[before:] if e.event_type == "group.changed"]
    assert [e.payload["displayName"] for e in rejoins] == ["arize-space-editors"]


async def test_paging_is_stable_and_counts_every_page(scim: Scim) -> None:
    """Okta pages a listing with startIndex/count: every user once, integer totalResults."""
    for n in range(7):
        await scim.http.post(f"{SCIM}/Users", json=user_body(f"p{n}@acme.example"))
    for params in ({}, {"filter": 'userName eq "p1@acme.example" or userName sw "p"'}):
        seen: list[str] = []
        for start in (1, 4, 7):
            page = await scim.http.get(
                f"{SCIM}/Users", params={**params, "startIndex": start, "count": 3}
            )
            body = page.json()
            assert body["totalResults"] == 7 and body["startIndex"] == start
            seen += [r["userName"] for r in body["Resources"]]
        assert sorted(seen) == sorted(f"p{n}@acme.example" for n in range(7))
        assert len(seen) == 7
