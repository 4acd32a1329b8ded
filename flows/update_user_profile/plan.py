"""Plan update-user-profile: the one change that gives an Arize user the wanted display name.

Arize's users API can change a user's display name (and the developer flag, which this runbook
leaves alone); e-mail and role are fixed. A rename is not destructive, so it needs no approval.
"""

from __future__ import annotations

from arize_admin import AsyncArizeAdmin
from core.planning.context import PlanContext
from core.planning.plan import Plan
from flows.update_user_profile.changes import RenameUser
from flows.update_user_profile.spec import UpdateUserProfileSpec

RUNBOOK = "update-user-profile"


async def plan_update_user_profile(
    client: AsyncArizeAdmin, spec: UpdateUserProfileSpec, context: PlanContext = PlanContext()
) -> Plan:
    """A rename when the live name differs; nothing when it matches or the user is not in
    Arize (an invitation not yet sent, or a person already offboarded). Changes nothing."""
    before = client.request_count
    email = spec.email.lower()
    plan = Plan(runbook=RUNBOOK, subject=email)
    user = await client.users.find_by_email(email)
    if user is None:
        plan.notes.append(f"no Arize user {email}: nothing to rename")
    elif user.name == spec.name:
        plan.in_place.append(f"{email} is named {spec.name!r}")
    else:
        plan.changes.append(
            RenameUser(
                target=email, user_id=user.id, email=email, name=spec.name,
                reason=f"from {user.name!r}: {spec.reason}",
            )
        )
    plan.api_calls = client.request_count - before
    return plan
