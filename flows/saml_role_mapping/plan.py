"""Plan saml-role-mapping: custom roles as code, one per IdP group, optionally pruning the rest;
then the ordered SAML rules of the named configuration (flows.saml_role_mapping.rules).

Pruning refuses roles that still have role bindings (``SpecError`` naming ``prune``) instead of
planning their removal. Unbinding would silently take access away from every person holding
the role; who holds which role is the business of onboard-team and restrict-project, and an
approver shown "delete role X" would not see the people behind it. Refusing before anything
changes, with the bindings counted, lets the admin move those people first.
"""

from __future__ import annotations

from arize_admin import AsyncArizeAdmin, Role, RoleBindingResourceType
from core.planning.changes import DeleteRole
from core.planning.context import PlanContext
from core.planning.plan import Plan, SpecError
from core.planning.roles import plan_custom_role
from flows.saml_role_mapping.rules import plan_rules
from flows.saml_role_mapping.spec import SamlRoleMappingSpec

RUNBOOK = "saml-role-mapping"
SUBJECT = "custom roles"

# Roles are created and updated before any is deleted: the account never has fewer of them
# than either the old or the new spec asks for. SAML rule changes follow (rules.MAPPINGS on).
ROLES, PRUNE = range(2)


async def plan_saml_role_mapping(
    client: AsyncArizeAdmin, spec: SamlRoleMappingSpec, context: PlanContext = PlanContext()
) -> Plan:
    """Read live roles and list the changes that make them match ``spec``. Changes nothing.

    Example:
        ```python
        @flow
        async def preview(spec: SamlRoleMappingSpec) -> str:
            policy = await RunbookPolicy.aload("default")
            async with policy.credentials.get_client() as client:
                plan = await plan_saml_role_mapping(client, spec)
            return plan.render_text()
        ```

    Args:
        client: The Arize account.
        spec: Group → role mappings and the prune switch.
        context: ``last_mapping``, the group → role id mapping published by the last run, if
            any; groups whose role id changed since then are named in the plan's notes.

    Raises:
        SpecError: a mapping names a predefined role or an invalid role name, or prune would
            delete roles that still have role bindings; the SAML configuration is missing,
            file-managed or hidden from this key (403); a rule names something missing.
    """
    before = client.request_count
    plan = await _plan(client, spec, dict(context.last_mapping))
    plan.api_calls = client.request_count - before
    return plan


async def _plan(
    client: AsyncArizeAdmin, spec: SamlRoleMappingSpec, last_mapping: dict[str, str]
) -> Plan:
    plan = Plan(runbook=RUNBOOK, subject=SUBJECT)
    roles = {role.name: role async for role in client.roles.list()}
    for index, mapping in enumerate(spec.mappings):
        field = f"mappings[{index}].role"
        live = roles.get(mapping.role.name)
        plan_custom_role(
            plan, mapping.role, live, field=field, stage=ROLES, purpose=f"for group {mapping.group}"
        )
        _note_id_change(plan, mapping.group, mapping.role.name, live, last_mapping)
    if spec.prune:
        await _plan_prune(plan, client, spec, roles)
    if spec.rules:
        await plan_rules(plan, client, spec, roles)
    return plan


def _note_id_change(
    plan: Plan, group: str, role_name: str, live: Role | None, last_mapping: dict[str, str]
) -> None:
    """Warn when the IdP holds a role id that no longer (or will no longer) be the group's."""
    last_id = last_mapping.get(group)
    if last_id is None:
        return
    if live is None:
        plan.notes.append(
            f"group {group}: role {role_name} (id {last_id} in the last published mapping) is "
            "gone and will be recreated with a new id; update the IdP with the new mapping"
        )
    elif live.id != last_id:
        plan.notes.append(
            f"group {group}: role {role_name} now has id {live.id}, the last published mapping "
            f"had {last_id} (deleted and recreated?); update the IdP with the new mapping"
        )


async def _plan_prune(
    plan: Plan, client: AsyncArizeAdmin, spec: SamlRoleMappingSpec, roles: dict[str, Role]
) -> None:
    named = {m.role.name for m in spec.mappings}
    named |= {r.space_role for r in spec.rules if r.space_role} | {
        r.project_role for r in spec.rules if r.project_role
    }
    unnamed = {r.id: r for r in roles.values() if not r.is_predefined and r.name not in named}
    if not unnamed:
        return
    in_use: dict[str, int] = {}
    for resource_type in RoleBindingResourceType:
        async for binding in client.role_bindings.list(resource_type=resource_type):
            if binding.role_id in unnamed:
                name = unnamed[binding.role_id].name
                in_use[name] = in_use.get(name, 0) + 1
    if in_use:
        held = ", ".join(f"{name} ({count} binding(s))" for name, count in sorted(in_use.items()))
        raise SpecError(
            "prune",
            True,
            f"these custom roles are not in the spec but still have role bindings: {held}. "
            "Move those people to a mapped role (or add the role to the spec, or set prune "
            "to false) and run again; nothing was changed",
        )
    for role in sorted(unnamed.values(), key=lambda r: r.name):
        plan.changes.append(
            DeleteRole(
                target=role.name,
                role_id=role.id,
                destructive=True,
                stage=PRUNE,
                reason="not in the spec (prune)",
            )
        )
