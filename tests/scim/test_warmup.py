"""The start-up warm-up: the classes scim2-models parametrizes per request are built once and
kept, so a garbage collection does not make the next request build them again; and the
warm-up leaves nothing in the service's database."""

from __future__ import annotations

import gc

from tests.scim.conftest import GROUP_SCHEMA, SCIM, Scim, patch, user_body
from webhooks.scim.warmup import parametrized


async def test_warm_up_writes_nothing_to_the_service_database(scim: Scim) -> None:
    assert await scim.counts() == {"scim_resources": 0, "scim_changes": 0, "events": 0}
    assert scim.app.state.scim.kept  # it ran, and kept classes


async def test_no_class_is_built_per_request_after_a_collection(scim: Scim) -> None:
    http = scim.http
    gc.collect()  # whatever is not kept is gone now, as after any full collection
    gc.disable()  # and whatever the requests build stays alive, to be seen below
    try:
        before = parametrized()
        lookup = {"filter": 'userName eq "ada@acme.example"', "startIndex": "1", "count": "100"}
        assert (await http.get(f"{SCIM}/Users", params=lookup)).status_code == 200
        created = await http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))
        assert created.status_code == 201
        assert (await http.get(f"{SCIM}/Users", params=lookup)).json()["totalResults"] == 1
        user_id = created.json()["id"]
        group = await http.post(
            f"{SCIM}/Groups",
            json={"schemas": [GROUP_SCHEMA], "displayName": "team", "members": []},
        )
        assert group.status_code == 201
        added = await http.patch(
            f"{SCIM}/Groups/{group.json()['id']}",
            json=patch({"op": "add", "path": "members", "value": [{"value": user_id}]}),
        )
        assert added.status_code in {200, 204}
        deactivated = await http.patch(
            f"{SCIM}/Users/{user_id}",
            json=patch({"op": "Replace", "path": "active", "value": "False"}),
        )
        assert deactivated.status_code in {200, 204}
        built = parametrized() - before
    finally:
        gc.enable()
    assert not built, sorted(cls.__name__ for cls in built)
