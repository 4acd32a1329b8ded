"""Plan restore-user: give a returning person what their access snapshot says they had, minus
what was revoked since.

"Revoked since" (between the snapshot and now), each left out with a note saying why:
- the space or project was deleted;
- the role was deleted;
- the grant came from an identity-provider group they have left since: its role is the one
  saml-role-mapping last published for a group in the snapshot's ``idp_groups`` and not in the
  spec's ``groups`` (one source of truth for what a group gives, as for SAML and SCIM pushes).

Everything else is restored as it was: the organization membership first (Arize cannot read an
organization role back, so it is restored as MEMBER), then each space role, then each project
binding. A grant they already hold is in place; a different role there now is left as is and
noted (someone changed it since). Restoring is not destructive, but a person's access coming
back is a decision: while the approval policy's ``gate_restores`` is on (the default), or the
spec asks with ``require_approval``, every grant waits at the gate.
"""

from __future__ import annotations

import asyncio

from arize_admin import (
    AsyncArizeAdmin,
    NotFoundError,
    Project,
    RoleBinding,
    RoleBindingResourceType,
)
from core.planning.changes import BindRole, Change, InviteUser, SetOrgRole, SetSpaceRole
from core.planning.context import PlanContext
from core.planning.plan import Plan
from flows.offboard_user.snapshot import AccessSnapshot, Grant
from flows.onboard_team.plan import spec_role_name
from flows.restore_user.spec import RestoreUserSpec

RUNBOOK = "restore-user"
PAGE = 100

# Stages: the account, then the organizations a space needs, then spaces, then projects.
INVITE, ORGS, SPACES, PROJECTS = range(4)


async def plan_restore_user(
    client: AsyncArizeAdmin, spec: RestoreUserSpec, context: PlanContext = PlanContext()
) -> Plan:
    """Read the snapshot (``context.access_snapshot``) and live state; list what gives the
    access back. Changes nothing. No snapshot: only the account is ensured."""
    before = client.request_count
    email = spec.email.lower()
    plan = Plan(runbook=RUNBOOK, subject=email)
    snapshot = (
        AccessSnapshot.model_validate(context.access_snapshot)
        if context.access_snapshot is not None
        else None
    )
    user = await client.users.find_by_email(email)
    if user is None:
        plan.changes.append(
            InviteUser(
                target=email, name=spec.name or (snapshot.name if snapshot else None) or email,
                email=email, account_role=spec.account_role, invite_mode=spec.invite_mode,
                stage=INVITE, reason="no Arize account with that e-mail",
            )
        )
    else:
        plan.in_place.append(f"account {email} ({user.status})")
    if snapshot is None:
        plan.notes.append(f"no access snapshot for {email}: nothing to restore beyond the account")
        plan.api_calls = client.request_count - before
        return plan

    roles, spaces, orgs = await asyncio.gather(
        client.roles.list(limit=PAGE).to_list(),
        client.spaces.list(limit=PAGE).to_list(),
        client.organizations.list(limit=PAGE).to_list(),
    )
    role_by_id = {r.id: r for r in roles}
    space_by_id = {s.id: s for s in spaces}
    org_names = {o.id: o.name for o in orgs}
    projects = await _projects(
        client, [g.resource_id for g in snapshot.grants if g.resource_type == "PROJECT"]
    )
    live: dict[str, RoleBinding] = {}
    if user is not None:
        for kind in (RoleBindingResourceType.SPACE, RoleBindingResourceType.PROJECT):
            async for b in client.role_bindings.list(resource_type=kind, user_id=user.id):
                live.setdefault(b.resource_id, b)

    revoked_roles = _roles_of_groups_left(snapshot, spec, context, plan)
    grants: list[tuple[Grant, str, str]] = []  # grant, its space id, the live label
    for grant in snapshot.grants:
        label = grant.resource
        if grant.role_id in revoked_roles:
            plan.notes.append(
                f"not restored: {grant.role} on {label}: revoked since "
                f"(group {revoked_roles[grant.role_id]} left in the identity provider)"
            )
            continue
        if grant.role_id not in role_by_id:
            plan.notes.append(f"not restored: {grant.role} on {label}: the role was deleted since")
            continue
        if grant.resource_type == "PROJECT":
            project = projects.get(grant.resource_id)
            space_id = project.space_id if project is not None else None
        else:
            space_id = grant.resource_id
        if space_id not in space_by_id:
            plan.notes.append(
                f"not restored: {grant.role} on {label}: the "
                f"{grant.resource_type.lower()} was deleted since"
            )
            continue
        grants.append((grant, space_id, label))

    member_of = {
        space_by_id[b.resource_id].organization_id
        for b in live.values()
        if b.resource_type == RoleBindingResourceType.SPACE and b.resource_id in space_by_id
    } | {
        space_by_id[p.space_id].organization_id
        for p in projects.values()
        if p.id in live and p.space_id in space_by_id
    }
    # The policy decides; a spec (a route's parameters, a manual run) may only add the gate.
    gated = context.gate_restores or spec.require_approval
    why = f"restores access ({spec.reason})" + ("; approval required" if gated else "")
    for org_id in sorted({space_by_id[s].organization_id or "" for _, s, _ in grants} - {""}):
        name = org_names.get(org_id, org_id)
        if org_id in member_of:
            plan.in_place.append(f"{email} in organization {name}")
            continue
        plan.changes.append(
            SetOrgRole(target=f"{email} in {name}", org_id=org_id, email=email, role="MEMBER",
                       stage=ORGS, destructive=gated, reason=why)
        )
    for grant, space_id, label in grants:
        role = role_by_id[grant.role_id]
        current = live.get(grant.resource_id)
        if current is not None:
            if current.role_id == grant.role_id:
                plan.in_place.append(f"{email} is {role.name} on {label}")
            else:
                now = role_by_id.get(current.role_id)
                plan.notes.append(
                    f"{email} is {now.name if now else current.role_id} on {label} now, the "
                    f"snapshot says {role.name}: changed since, left as is"
                )
            continue
        change: Change
        if grant.resource_type == "SPACE":
            change = SetSpaceRole(
                target=f"{email} in {space_by_id[space_id].name}",
                space=space_by_id[space_id].name, space_id=space_id, email=email,
                role=spec_role_name(role), custom=not role.is_predefined,
                stage=SPACES, destructive=gated, reason=why,
            )
        else:
            change = BindRole(
                target=f"{role.name} to {email} on {label}", email=email, role_id=role.id,
                role=role.name, resource_type="PROJECT", resource_id=grant.resource_id,
                stage=PROJECTS, destructive=gated, reason=why,
            )
        plan.changes.append(change)
    plan.api_calls = client.request_count - before
    return plan


def _roles_of_groups_left(
    snapshot: AccessSnapshot, spec: RestoreUserSpec, context: PlanContext, plan: Plan
) -> dict[str, str]:
    """Role id → the group left since that gave it (per saml-role-mapping's last mapping)."""
    if spec.groups is None:
        return {}
    left = sorted(set(snapshot.idp_groups) - set(spec.groups))
    unmapped = [g for g in left if g not in context.last_mapping]
    if unmapped:
        plan.notes.append(
            f"groups left since with no role in saml-role-mapping's mapping: {', '.join(unmapped)}"
        )
    return {context.last_mapping[g]: g for g in left if g in context.last_mapping}


async def _projects(client: AsyncArizeAdmin, project_ids: list[str]) -> dict[str, Project]:
    """The snapshot's projects that still exist, by id."""

    async def get(project_id: str) -> Project | None:
        try:
            return await client.projects.get(project_id)
        except NotFoundError:
            return None

    found = await asyncio.gather(*(get(p) for p in dict.fromkeys(project_ids)))
    return {p.id: p for p in found if p is not None}
