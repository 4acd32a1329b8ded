"""Plan onboard-team: the changes that make a team's space, roles, people and CI key match."""

from __future__ import annotations

import asyncio

from arize_admin import (
    ApiKeyType,
    AsyncArizeAdmin,
    Role,
    RoleBinding,
    RoleBindingResourceType,
)
from core.planning.changes import (
    CreateServiceKey,
    CreateSpace,
    InviteUser,
    SetOrgRole,
    SetSpaceRole,
)
from core.planning.context import PlanContext
from core.planning.names import listed
from core.planning.plan import Plan, SpecError
from core.planning.roles import plan_custom_role
from core.planning.specs import PREDEFINED_SPACE_ROLES, OrgRoleName
from flows.onboard_team.spec import OnboardTeamSpec

RUNBOOK = "onboard-team"

# Stages: what a later stage needs exists after the earlier ones.
SPACE_AND_ROLES, INVITES, ORG_ROLES, SPACE_ROLES, KEYS = range(5)


async def plan_onboard_team(
    client: AsyncArizeAdmin, spec: OnboardTeamSpec, context: PlanContext = PlanContext()
) -> Plan:
    """Read live state and list the changes that make it match ``spec``. Changes nothing.

    The key store (``context.keys``) is read only when the spec asks for a service key that
    already exists.

    Raises:
        SpecError: the organization, or a member's custom space role, does not exist.
    """
    before = client.request_count
    plan = await _plan(client, context, spec)
    plan.api_calls = client.request_count - before
    return plan


async def _plan(client: AsyncArizeAdmin, context: PlanContext, spec: OnboardTeamSpec) -> Plan:
    plan = Plan(runbook=RUNBOOK, subject=f"{spec.organization}/{spec.space}")
    org = await client.organizations.find_by_name(spec.organization)
    if org is None:
        names = [o.name async for o in client.organizations.list()]
        raise SpecError(
            "organization", spec.organization,
            f"no organization of that name (names are exact); organizations: {listed(names)}",
        )
    # Independent reads, concurrently: each listing pages one cursor at a time, so on a large
    # account the plan takes as long as the longest listing rather than their sum.
    space, all_roles, all_users, org_spaces, bindings = await asyncio.gather(
        client.spaces.find_by_name(spec.space, org_id=org.id),
        client.roles.list().to_list(),
        client.users.list().to_list(),
        client.spaces.list(org_id=org.id).to_list(),
        client.role_bindings.list(resource_type=RoleBindingResourceType.SPACE).to_list(),
    )
    roles = {spec_role_name(role): role for role in all_roles}
    users = {user.email.lower(): user for user in all_users}
    org_space_ids = {s.id for s in org_spaces}
    space_bindings = [b for b in bindings if b.resource_id in org_space_ids]
    org_members = {b.user_id for b in space_bindings}
    # Indexed once so each member is a dict lookup, not a scan of every binding.
    space_binding_of: dict[str, RoleBinding] = {}
    for b in space_bindings:
        if space is not None and b.resource_id == space.id:
            space_binding_of.setdefault(b.user_id, b)
    roles_by_id = {role.id: role for role in roles.values()}

    if space is None:
        plan.changes.append(
            CreateSpace(
                target=spec.space,
                name=spec.space,
                organization_id=org.id,
                description=spec.space_description,
                stage=SPACE_AND_ROLES,
            )
        )
    else:
        plan.in_place.append(f"space {spec.space}")

    for index, role_spec in enumerate(spec.roles):
        plan_custom_role(
            plan, role_spec, roles.get(role_spec.name), field=f"roles[{index}]",
            stage=SPACE_AND_ROLES,
        )

    wanted_roles = {r.name: set(r.permissions) for r in spec.roles}
    for index, member in enumerate(spec.members):
        email = member.email.lower()
        space_role = _space_role(member.space_role, roles, wanted_roles, index)
        user = users.get(email)
        if user is None:
            plan.changes.append(
                InviteUser(
                    target=email,
                    name=member.name,
                    email=email,
                    account_role=member.account_role,
                    invite_mode=spec.invite_mode,
                    stage=INVITES,
                )
            )
        elif user.role.name != member.account_role:
            plan.notes.append(
                f"{email} is an account {user.role.name}, the spec says {member.account_role}; "
                "account roles cannot be changed through the admin API, left as is"
            )
        if user is None or user.id not in org_members:
            plan.changes.append(_org_role_change(org.id, spec.organization, email, member.org_role))
        else:
            plan.in_place.append(f"{email} in organization {spec.organization}")
        current = space_binding_of.get(user.id) if user is not None else None
        _plan_space_role(plan, spec, email, space_role, current, roles_by_id, wanted_roles, space)

    if spec.service_key is not None:
        await _plan_service_key(plan, client, context, spec, org.id, space)
    return plan


def spec_role_name(role: Role) -> str:
    """How specs name a role: predefined ones as ADMIN, MEMBER, READ_ONLY, ANNOTATOR."""
    return role.name.upper().replace(" ", "_") if role.is_predefined else role.name



def _space_role(
    name: str, roles: dict[str, Role], wanted_roles: dict[str, set], index: int
) -> str:
    """Check a member's space role names something that exists or will."""
    if name in PREDEFINED_SPACE_ROLES or name in wanted_roles:
        return name
    role = roles.get(name)
    if role is None or role.is_predefined:
        raise SpecError(
            f"members[{index}].space_role",
            name,
            "use ADMIN, MEMBER, READ_ONLY, ANNOTATOR, or a custom role defined under roles "
            "or already in Arize; custom roles: "
            + listed(n for n, r in roles.items() if not r.is_predefined),
        )
    return name


def _org_role_change(org_id: str, org_name: str, email: str, role: OrgRoleName) -> SetOrgRole:
    return SetOrgRole(
        target=f"{email} in {org_name}", org_id=org_id, email=email, role=role, stage=ORG_ROLES
    )


def _plan_space_role(
    plan: Plan,
    spec: OnboardTeamSpec,
    email: str,
    role_name: str,
    current,
    roles_by_id: dict[str, Role],
    wanted_roles: dict[str, set],
    space,
) -> None:
    current_role = roles_by_id.get(current.role_id) if current else None
    if current_role is not None and spec_role_name(current_role) == role_name:
        plan.in_place.append(f"{email} is {role_name} in {spec.space}")
        return
    custom = role_name not in PREDEFINED_SPACE_ROLES
    destructive = False
    reason = ""
    if current_role is not None:
        now = {p.value for p in current_role.permissions}
        after = wanted_roles.get(role_name) or _permissions_of(role_name, roles_by_id)
        after = {getattr(p, "value", p) for p in after}
        destructive = not now <= after
        narrows = " (narrows access)" if destructive else ""
        reason = f"from {spec_role_name(current_role)}{narrows}"
    plan.changes.append(
        SetSpaceRole(
            target=f"{email} in {spec.space}",
            space=spec.space,
            space_id=space.id if space is not None else None,
            email=email,
            role=role_name,
            custom=custom,
            destructive=destructive,
            stage=SPACE_ROLES,
            reason=reason,
        )
    )


def _permissions_of(role_name: str, roles_by_id: dict[str, Role]) -> set:
    for role in roles_by_id.values():
        if spec_role_name(role) == role_name:
            return set(role.permissions)
    return set()


async def _plan_service_key(
    plan: Plan, client: AsyncArizeAdmin, context: PlanContext, spec: OnboardTeamSpec,
    org_id: str, space,
) -> None:
    key_spec = spec.service_key
    if space is not None:
        async for key in client.api_keys.list(space_id=space.id, key_type=ApiKeyType.SERVICE):
            if key.name == key_spec.name:
                plan.in_place.append(f"service key {key_spec.name}")
                stored = await context.key_reader(RUNBOOK).read_key(
                    key_spec.name, spec.space, api_key_ids=[key.id]
                )
                if stored is None or stored.api_key_id != key.id:
                    plan.notes.append(
                        f"service key {key_spec.name} exists but its value is not in the key "
                        "store; rotate it with rotate-service-keys to capture one"
                    )
                return
    plan.changes.append(
        CreateServiceKey(
            target=key_spec.name,
            name=key_spec.name,
            org_id=org_id,
            space=spec.space,
            space_id=space.id if space is not None else None,
            space_role=key_spec.space_role,
            expires_in_days=key_spec.expires_in_days,
            description=key_spec.description,
            stage=KEYS,
        )
    )
