"""Plan grant-temporary-access: resolve who, what and where, and read what is there today.

What the person already has on the resource decides both the grant and its revoke, which only
ever undoes what the grant itself added:

- no binding there: the grant creates one; the revoke deletes that binding;
- a binding with another role: the grant changes its role (elevation); the revoke puts the
  previous role back;
- a binding with the requested role: standing access; nothing is granted, nothing revoked.

Arize allows one binding per user and resource, so these three cases are all there are.
"""

from __future__ import annotations

from pydantic import BaseModel

from arize_admin import (
    AmbiguousNameError,
    APIStatusError,
    AsyncArizeAdmin,
    Project,
    RoleBinding,
    RoleBindingResourceType,
    Space,
)
from core.planning.changes import BindRole, RebindRole
from core.planning.context import PlanContext
from core.planning.plan import Plan, SpecError
from core.planning.specs import PREDEFINED_SPACE_ROLES
from flows.time_bound_access.spec import GrantTemporaryAccessSpec, describe_duration

RUNBOOK = "grant-temporary-access"


class GrantTarget(BaseModel):
    """The resolved ids of a request and the binding the person has there today."""

    user_id: str
    role_id: str
    resource_type: RoleBindingResourceType
    resource_id: str
    resource: str
    live_binding_id: str | None = None
    live_role_id: str | None = None

    @property
    def standing(self) -> bool:
        """True when the person already has exactly this role here."""
        return self.live_role_id == self.role_id


class GrantPlan(BaseModel):
    """The plan an approver approves, and the ids behind it."""

    plan: Plan
    target: GrantTarget


async def plan_grant(
    client: AsyncArizeAdmin, spec: GrantTemporaryAccessSpec, context: PlanContext = PlanContext()
) -> GrantPlan:
    """Read live state and plan the one binding change that grants ``spec``. Changes nothing.

    The change is marked for approval: access is a privilege, so every grant is approved.

    Example:
        ```python
        @flow
        async def preview(spec: GrantTemporaryAccessSpec) -> str:
            policy = await RunbookPolicy.aload("default")
            async with policy.credentials.get_client() as client:
                return (await plan_grant(client, spec)).plan.render_text()
        ```

    Raises:
        SpecError: the user, organization, space, project or role does not exist (or is
            ambiguous); names the field and the value.
    """
    before = client.request_count
    planned = await _plan(client, spec)
    planned.plan.api_calls = client.request_count - before
    return planned


async def _plan(client: AsyncArizeAdmin, spec: GrantTemporaryAccessSpec) -> GrantPlan:
    user = await client.users.find_by_email(spec.email)
    if user is None:
        raise SpecError("email", spec.email, "no Arize user has this email; invite them first")
    role_name = spec.role.upper() if spec.role.upper() in PREDEFINED_SPACE_ROLES else spec.role
    role = await client.roles.find_by_name(role_name)
    if role is None:
        raise SpecError("role", spec.role, "no role of that name (custom role names are exact)")
    space = await _resolve_space(client, spec)
    resource_type = RoleBindingResourceType.SPACE
    resource_id, resource = space.id, space.name
    if spec.project:
        project = await _resolve_project(client, spec.project, space)
        resource_type = RoleBindingResourceType.PROJECT
        resource_id, resource = project.id, f"{space.name}/{project.name}"
    live = await _binding_on(client, user.id, resource_type, resource_id)
    target = GrantTarget(
        user_id=user.id,
        role_id=role.id,
        resource_type=resource_type,
        resource_id=resource_id,
        resource=resource,
        live_binding_id=live.id if live else None,
        live_role_id=live.role_id if live else None,
    )
    plan = Plan(runbook=RUNBOOK, subject=f"{spec.email} on {resource}")
    what = f"{role.name} to {spec.email} on {resource}"
    why = f"temporary, {describe_duration(spec.duration)}: {spec.reason}"
    if live is None:
        plan.changes.append(
            BindRole(
                target=what,
                email=spec.email,
                role_id=role.id,
                resource_type=resource_type.value,
                resource_id=resource_id,
                destructive=True,  # not destructive, but a privilege: it always waits for approval
                reason=why,
            )
        )
    elif not target.standing:
        previous = await _role_name(client, live.role_id)
        plan.changes.append(
            RebindRole(
                target=what,
                binding_id=live.id,
                role_id=role.id,
                destructive=True,
                reason=f"{why}; {previous} is restored at expiry",
            )
        )
    else:
        plan.in_place.append(f"{what} (standing access; the grant adds and removes nothing)")
    return GrantPlan(plan=plan, target=target)


async def _binding_on(
    client: AsyncArizeAdmin, user_id: str, resource_type: RoleBindingResourceType, resource_id: str
) -> RoleBinding | None:
    async for binding in client.role_bindings.list(resource_type=resource_type, user_id=user_id):
        if binding.resource_id == resource_id:
            return binding
    return None


async def _role_name(client: AsyncArizeAdmin, role_id: str) -> str:
    try:
        return (await client.roles.get(role_id)).name
    except APIStatusError as ex:
        if ex.is_transient:
            raise
        return f"role {role_id}"


async def _resolve_space(client: AsyncArizeAdmin, spec: GrantTemporaryAccessSpec) -> Space:
    org_id = None
    if spec.organization:
        org = await client.organizations.find_by_name(spec.organization)
        if org is None:
            raise SpecError(
                "organization", spec.organization, "no organization of that name (names are exact)"
            )
        org_id = org.id
    try:
        space = await client.spaces.find_by_name(spec.space, org_id=org_id)
    except AmbiguousNameError as ex:
        raise SpecError(
            "space", spec.space, f"{len(ex.ids)} organizations have a space of that name; "
            "set organization"
        ) from ex
    if space is None:
        raise SpecError("space", spec.space, "no space of that name (names are exact)")
    return space


async def _resolve_project(client: AsyncArizeAdmin, name: str, space: Space) -> Project:
    project = await client.projects.find_by_name(name, space_id=space.id)
    if project is not None:
        return project
    try:
        project = await client.projects.get(name)
    except APIStatusError as ex:
        if ex.is_transient:
            raise
        project = None
    if project is None or project.space_id != space.id:
        raise SpecError("project", name, f"no project of that name or id in space {space.name}")
    return project
