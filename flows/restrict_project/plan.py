"""Plan restrict-project: bind the allowed people, restrict the project, unbind everyone else.

The stages are the runbook's safety argument. An allowed user who reaches the project through
the space today keeps reaching it through a PROJECT binding created in stage 0, before the
restriction of stage 1 cuts inherited access; bindings of people not on the list go only in
stage 2, after the restriction is in place. At no moment does an allowed user lack access.
"""

from __future__ import annotations

from arize_admin import (
    AmbiguousNameError,
    APIStatusError,
    AsyncArizeAdmin,
    Project,
    ResourceRestrictionType,
    Role,
    RoleBinding,
    RoleBindingResourceType,
    Space,
)
from core.planning.changes import BindRole, RebindRole, RestrictProject, UnbindRole
from core.planning.context import PlanContext
from core.planning.names import listed
from core.planning.plan import Plan, SpecError
from flows.restrict_project.spec import RestrictProjectSpec

RUNBOOK = "restrict-project"

# Bind first, restrict second, unbind last: no lockout window (module docstring).
BIND, RESTRICT, UNBIND = range(3)


async def plan_restrict_project(
    client: AsyncArizeAdmin, spec: RestrictProjectSpec, context: PlanContext = PlanContext()
) -> Plan:
    """Read live state and list the changes that restrict the project to ``spec.allowed``.

    Changes nothing.

    Example:
        ```python
        @flow
        async def preview(spec: RestrictProjectSpec) -> str:
            policy = await RunbookPolicy.aload("default")
            async with policy.credentials.get_client() as client:
                plan = await plan_restrict_project(client, spec)
            return plan.render_text()
        ```

    Raises:
        SpecError: the organization, space, project, an allowed user or a role does not exist
            (or is ambiguous, or is not a custom role); names the field and the value.
    """
    before = client.request_count
    plan = await _plan(client, spec)
    plan.api_calls = client.request_count - before
    return plan


async def _plan(client: AsyncArizeAdmin, spec: RestrictProjectSpec) -> Plan:
    space = await _resolve_space(client, spec)
    project = await _resolve_project(client, spec, space)
    plan = Plan(runbook=RUNBOOK, subject=f"{space.name}/{project.name}")

    users = {user.email.lower(): user async for user in client.users.list()}
    roles = {role.name: role async for role in client.roles.list()}
    roles_by_id = {role.id: role for role in roles.values()}
    emails_by_id = {user.id: email for email, user in users.items()}

    allowed: dict[str, Role] = {}
    for index, person in enumerate(spec.allowed):
        email = person.email.lower()
        user = users.get(email)
        if user is None:
            raise SpecError(f"allowed[{index}].email", person.email, "no Arize user has this email")
        role = roles.get(person.role)
        if role is None or role.is_predefined:
            raise SpecError(
                f"allowed[{index}].role",
                person.role,
                "name an existing custom role (names are exact; predefined roles are not "
                "bound on projects by this runbook); custom roles: "
                + listed(n for n, r in roles.items() if not r.is_predefined),
            )
        allowed[user.id] = role

    bindings = {
        b.user_id: b
        async for b in client.role_bindings.list(resource_type=RoleBindingResourceType.PROJECT)
        if b.resource_id == project.id
    }
    restricted = project.id in {
        r.resource_id
        async for r in client.resource_restrictions.list(
            resource_type=ResourceRestrictionType.PROJECT
        )
    }

    for person in spec.allowed:
        email = person.email.lower()
        user = users[email]
        _plan_binding(plan, project, email, allowed[user.id], bindings.get(user.id), roles_by_id)

    if restricted:
        plan.in_place.append(f"project {project.name} is restricted")
    else:
        plan.changes.append(
            RestrictProject(
                target=f"{space.name}/{project.name}",
                project_id=project.id,
                space=space.name,
                destructive=True,
                stage=RESTRICT,
                reason="only PROJECT bindings and admins keep access",
            )
        )

    for user_id, binding in sorted(bindings.items()):
        if user_id in allowed:
            continue
        who = emails_by_id.get(user_id, user_id)
        role = roles_by_id.get(binding.role_id)
        plan.changes.append(
            UnbindRole(
                target=f"{who} on {project.name}",
                binding_id=binding.id,
                user_id=user_id,
                resource_id=project.id,
                destructive=True,
                stage=UNBIND,
                reason=f"{role.name if role else binding.role_id} binding; not on the list",
            )
        )
    return plan


async def _resolve_space(client: AsyncArizeAdmin, spec: RestrictProjectSpec) -> Space:
    org_id = None
    if spec.organization:
        org = await client.organizations.find_by_name(spec.organization)
        if org is None:
            names = [o.name async for o in client.organizations.list()]
            raise SpecError(
                "organization", spec.organization,
                f"no organization of that name (names are exact); organizations: {listed(names)}",
            )
        org_id = org.id
    try:
        space = await client.spaces.find_by_name(spec.space, org_id=org_id)
    except AmbiguousNameError as ex:
        raise SpecError(
            "space",
            spec.space,
            f"{len(ex.ids)} organizations have a space of that name; set organization",
        ) from ex
    if space is None:
        where = f" in organization {spec.organization}" if spec.organization else ""
        names = [s.name async for s in client.spaces.list(org_id=org_id)]
        raise SpecError(
            "space", spec.space,
            f"no space of that name{where} (names are exact); spaces: {listed(names)}",
        )
    return space


async def _resolve_project(
    client: AsyncArizeAdmin, spec: RestrictProjectSpec, space: Space
) -> Project:
    project = await client.projects.find_by_name(spec.project, space_id=space.id)
    if project is not None:
        return project
    try:
        project = await client.projects.get(spec.project)
    except APIStatusError as ex:
        # Not an id, or no such project: a spec problem, unless the API is having trouble.
        if ex.is_transient:
            raise
        project = None
    if project is None or project.space_id != space.id:
        names = [p.name async for p in client.projects.list(space_id=space.id)]
        raise SpecError(
            "project", spec.project,
            f"no project of that name or id in space {space.name}; projects: {listed(names)}",
        )
    return project


def _plan_binding(
    plan: Plan,
    project: Project,
    email: str,
    role: Role,
    current: RoleBinding | None,
    roles_by_id: dict[str, Role],
) -> None:
    target = f"{role.name} to {email} on {project.name}"
    if current is None:
        plan.changes.append(
            BindRole(
                target=target,
                email=email,
                role=role.name,
                role_id=role.id,
                resource_type=RoleBindingResourceType.PROJECT.value,
                resource_id=project.id,
                stage=BIND,
            )
        )
        return
    if current.role_id == role.id:
        plan.in_place.append(f"{email} has {role.name} on {project.name}")
        return
    old = roles_by_id.get(current.role_id)
    old_name = old.name if old else current.role_id
    narrows = old is None or not set(old.permissions) <= set(role.permissions)
    plan.changes.append(
        RebindRole(
            target=target,
            binding_id=current.id,
            role_id=role.id,
            resource_id=current.resource_id,
            destructive=narrows,
            stage=BIND,
            reason=f"from {old_name}" + (" (narrows access)" if narrows else ""),
        )
    )
