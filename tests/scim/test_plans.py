"""From the IdP to Arize: an Okta leaver and joiner replayed through /scim/v2, and each routed
event's runbook planned against the Arize emulator (in process, the core tier's way): what the
run would change in Arize, before its gate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from arize_admin import AsyncArizeAdmin
from core.planning.changes import DeleteUser, InviteUser, SetSpaceRole, UnbindRole
from core.planning.context import PlanContext
from emulator.arize import create_app
from flows.registry import BY_NAME
from tests.fixtures.arize import ADMIN_KEY
from tests.scim.conftest import GROUP_SCHEMA, SCIM, Scim, patch, user_body


@pytest.fixture
async def arize() -> AsyncIterator[AsyncArizeAdmin]:
    app = create_app(seed="demo", admin_key=ADMIN_KEY)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://arize.test")
        as http,
        AsyncArizeAdmin(api_key=ADMIN_KEY, base_url="http://arize.test", http_client=http)
        as admin,
    ):  # fmt: skip
        yield admin


async def _plans(scim: Scim, arize: AsyncArizeAdmin, since: int = 0) -> list[tuple[str, Any]]:
    """Each routed event since the ``since``-th, planned by its runbook."""
    plans = []
    for event in (await scim.events())[since:]:
        if event.deployment is None or event.parameters is None:
            continue
        runbook = BY_NAME[event.deployment.split("/", 1)[0]]
        spec = runbook.spec.model_validate(event.parameters["spec"])
        result = await runbook.planner(arize, spec, PlanContext())
        plans.append((event.event_type, getattr(result, "plan", result)))
    return plans


async def test_okta_joiner_and_leaver_plan_the_right_arize_changes(
    scim: Scim, arize: AsyncArizeAdmin
) -> None:
    http = scim.http
    # A new person, and one Arize already knows (the demo's Lee).
    new = await http.post(f"{SCIM}/Users", json=user_body("nia.new@acme.example"))
    lee = await http.post(f"{SCIM}/Users", json=user_body("lee.leaver@acme.example"))
    assert new.status_code == lee.status_code == 201
    joins = await _plans(scim, arize)
    invited = [c.email for _, plan in joins for c in plan.changes if isinstance(c, InviteUser)]
    assert invited == ["nia.new@acme.example"]  # Lee exists: reused, not re-invited
    granted = {
        (c.email, c.space, c.role)
        for _, plan in joins
        for c in plan.changes
        if isinstance(c, SetSpaceRole)
    }
    assert ("nia.new@acme.example", "general", "MEMBER") in granted

    # Lee leaves: Okta deactivates; offboard-user would empty the account (kept, so Lee can be
    # reactivated), behind its gate.
    before = len(await scim.events())
    off = await http.patch(
        f"{SCIM}/Users/{lee.json()['id']}",
        json=patch({"op": "replace", "value": {"active": False}}),
    )
    assert off.status_code == 204
    [(kind, plan)] = await _plans(scim, arize, before)
    assert kind == "user.deactivated"
    assert not [c for c in plan.changes if isinstance(c, DeleteUser)]
    unbinds = {c.binding_id for c in plan.changes if isinstance(c, UnbindRole)}
    assert unbinds == {b.id for b in plan.inventory.bindings} and unbinds
    assert plan.changes and all(c.destructive for c in plan.changes)


async def test_group_push_plans_the_groups_space_role(scim: Scim, arize: AsyncArizeAdmin) -> None:
    http = scim.http
    user_id = (await http.post(f"{SCIM}/Users", json=user_body("nia.new@acme.example"))).json()[
        "id"
    ]
    before = len(await scim.events())
    group = await http.post(
        f"{SCIM}/Groups",
        json={"schemas": [GROUP_SCHEMA], "displayName": "arize-space-editors", "members": []},
    )
    await http.patch(
        f"{SCIM}/Groups/{group.json()['id']}",
        json=patch({"op": "add", "path": "members", "value": [{"value": user_id}]}),
    )
    [(kind, plan)] = await _plans(scim, arize, before)
    assert kind == "group.changed"
    roles = [(c.email, c.space, c.role) for c in plan.changes if isinstance(c, SetSpaceRole)]
    assert roles == [("nia.new@acme.example", "fraud-ops", "Space Editor")]


async def test_reactivation_plans_the_invitation_when_arize_has_no_account(
    scim: Scim, arize: AsyncArizeAdmin
) -> None:
    """Deactivated, then reactivated: restore-user is planned; with no account in Arize (and
    no snapshot, since nothing ran here) it plans the invitation again."""
    http = scim.http
    created = await http.post(f"{SCIM}/Users", json=user_body("nia.new@acme.example"))
    user_id = created.json()["id"]
    off = patch({"op": "replace", "value": {"active": False}})
    await http.patch(f"{SCIM}/Users/{user_id}", json=off)
    before = len(await scim.events())
    on = patch({"op": "replace", "value": {"active": True}})
    await http.patch(f"{SCIM}/Users/{user_id}", json=on)
    [(kind, plan)] = await _plans(scim, arize, before)
    assert kind == "user.reactivated" and plan.runbook == "restore-user"
    assert [(c.email, c.account_role) for c in plan.changes if isinstance(c, InviteUser)] == [
        ("nia.new@acme.example", "MEMBER")
    ]
