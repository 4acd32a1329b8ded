"""How each runbook's example becomes destructive on the demo account, for the shared suite.

A runbook whose example already plans a destructive change on the demo account needs nothing
here. One that cannot be driven by its example at all says why in ``NOT_SHARED``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from arize_admin import AsyncArizeAdmin, ServiceKeyOrgAssignment, ServiceKeySpaceAssignment

Prepare = Callable[[AsyncArizeAdmin], Awaitable[None]]


async def _nothing(client: AsyncArizeAdmin) -> None:
    return None


@dataclass(frozen=True)
class Scenario:
    """What to do to the demo account, and to the example, so the plan waits for approval."""

    prepare: Prepare = _nothing
    spec: dict[str, Any] = field(default_factory=dict)


async def _widen_role(client: AsyncArizeAdmin, name: str, permissions: list[str]) -> None:
    """Give the role ``name`` one permission more than the example wants: narrowing it back is
    destructive. Creates the role when the demo account has none of that name."""
    wider = [*permissions, "PROJECT_DELETE"]
    role = await client.roles.find_by_name(name)
    if role is None:
        await client.roles.create(name=name, permissions=wider)
    else:
        await client.roles.update(role.id, permissions=wider)


async def _onboard_team(client: AsyncArizeAdmin) -> None:
    await _widen_role(
        client,
        "Fraud Analyst",
        ["PROJECT_READ", "PROJECT_SPAN_READ", "PROJECT_SPAN_ANNOTATE", "DASHBOARD_READ"],
    )


async def _saml_role_mapping(client: AsyncArizeAdmin) -> None:
    role = await client.roles.find_by_name("Project Viewer")
    assert role is not None, "the demo account has the Project Viewer role"
    await _widen_role(client, "Project Viewer", [p.value for p in role.permissions])


async def _apply_account(client: AsyncArizeAdmin) -> None:
    """Someone widened the Space Editor role the example declares: narrowing it back is gated."""
    role = await client.roles.find_by_name("Space Editor")
    assert role is not None, "the demo account has the Space Editor role"
    await _widen_role(client, "Space Editor", [p.value for p in role.permissions])


async def _rotate_service_keys(client: AsyncArizeAdmin) -> None:
    """A service key that has just expired: revoking it is destructive."""
    org = await client.organizations.find_by_name("Acme")
    space = await client.spaces.find_by_name("fraud-detection", org_id=org.id)
    created = await client.api_keys.create_service_key(
        name="expired-ci",
        expires_at=datetime.now(UTC) + timedelta(seconds=1),
        organizations=[
            ServiceKeyOrgAssignment(
                org_id=org.id, spaces=[ServiceKeySpaceAssignment(space_id=space.id)]
            )
        ],
    )
    # Keys cannot be created in the past: wait (bounded) until Arize calls it expired.
    for _ in range(100):
        if created.expires_at <= datetime.now(UTC):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("expired-ci did not expire")


SCENARIOS: dict[str, Scenario] = {
    "onboard-team": Scenario(prepare=_onboard_team),
    "saml-role-mapping": Scenario(prepare=_saml_role_mapping),
    "rotate-service-keys": Scenario(prepare=_rotate_service_keys, spec={"revoke_expired": True}),
    "apply-account": Scenario(prepare=_apply_account),
}
"""Runbooks whose example needs help to plan something destructive."""

NOT_SHARED: dict[str, str] = {
    "access-review": "decisions come from reviewers in Slack over days, not from one gate; "
    "tests/runbooks/test_access_review.py covers its dry run, gate and faults",
    "grant-temporary-access": "always gated, answers with a grant record and schedules its own "
    "revoke deployment; tests/runbooks/test_grant_temporary_access.py covers its gate",
    "restore-user": "plans from the access snapshot an offboarding with a kept account saved "
    "in Prefect, which the demo account has none of; tests/scim/test_reactivation.py covers "
    "its gate, its rerun and what it leaves out",
}
"""Runbooks the shared suite cannot drive through their example, and why."""
