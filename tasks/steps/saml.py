"""Steps on SAML role mappings: create the configuration, add, update and remove rules.

Arize keeps a configuration's rules in the order they were added and an update keeps a rule's
place, so the plan reaches the wanted order by rewriting rules in place and appending at the
end. Each step looks before it writes: an add whose response was lost is found at its place on
the retry, never appended twice; an update already in place is not sent again.

Only the rules on the spec's attribute that do not grant account ADMIN are the runbook's
("managed"); the admin mapping Arize requires, and rules on other attributes, are left alone
and do not count in a rule's ``index``.
"""

from __future__ import annotations

from prefect import task

from arize_admin import AccountRole, AsyncArizeAdmin, CustomRole
from arize_admin.types import SamlRoleMapping, SamlRoleMappingRule
from core.planning.changes import (
    AddSamlRoleMapping,
    CreateSamlIdentityProvider,
    RemoveSamlRoleMapping,
    SamlRule,
    UpdateSamlRoleMapping,
)
from tasks.retry import STEP_OPTIONS
from tasks.steps.step import Outcome, StepContext, StepResult, find_or_create, remove_if_present

RuleKey = tuple[str, str, str | None, str | None, str | None, str | None, str | None]
"""What a rule grants, comparable between a live mapping and a planned rule."""


def is_protected(mapping: SamlRoleMapping) -> bool:
    """The admin mapping: Arize requires one, and the runbook never touches it."""
    return mapping.account_role == AccountRole.ADMIN


def managed(mappings: list[SamlRoleMapping], attribute_name: str) -> list[SamlRoleMapping]:
    """The rules the runbook manages, in configuration order."""
    return [m for m in mappings if m.attribute_name == attribute_name and not is_protected(m)]


def mapping_key(mapping: SamlRoleMapping) -> RuleKey:
    """The key of a live mapping."""
    space_role = None
    if mapping.space_role is not None:
        role = mapping.space_role
        space_role = f"custom:{role.id}" if isinstance(role, CustomRole) else str(role.name)
    return (
        mapping.attribute_name,
        mapping.attribute_value,
        str(mapping.account_role) if mapping.account_role else None,
        mapping.space_id if mapping.space_role is not None else None,
        space_role,
        mapping.project_id,
        mapping.project_role_id,
    )


def rule_key(rule: SamlRule) -> RuleKey:
    """The key of a planned rule; a role not created yet never equals a live one."""
    space_role = rule.space_role
    if rule.space_role_custom:
        space_role = f"custom:{rule.space_role_id or 'new:' + str(rule.space_role)}"
    project_role = None
    if rule.project_role is not None:
        project_role = rule.project_role_id or f"new:{rule.project_role}"
    return (
        rule.attribute_name,
        rule.group,
        rule.account_role,
        rule.space_id if rule.space_role else None,
        space_role,
        rule.project_id if rule.project_role else None,
        project_role,
    )


async def resolve_rule(ctx: StepContext, client: AsyncArizeAdmin, rule: SamlRule) -> SamlRule:
    """The rule with the ids of custom roles an earlier stage created filled in.

    Raises:
        LookupError: a custom role the rule names does not exist.
    """

    async def role_id(name: str) -> str:
        known = ctx.ref("role", name)
        if known:
            return known
        role = await client.roles.find_by_name(name)
        if role is None:
            raise LookupError(f"rule {rule.describe()}: custom role {name!r} does not exist")
        return role.id

    update: dict[str, str] = {}
    if rule.space_role_custom and rule.space_role and not rule.space_role_id:
        update["space_role_id"] = await role_id(rule.space_role)
    if rule.project_role and not rule.project_role_id:
        update["project_role_id"] = await role_id(rule.project_role)
    return rule.model_copy(update=update) if update else rule


def request_rule(rule: SamlRule) -> SamlRoleMappingRule:
    """The API's request model of a resolved rule."""
    space_role: CustomRole | str | None = None
    if rule.space_role:
        space_role = CustomRole(id=str(rule.space_role_id)) if rule.space_role_custom else (
            rule.space_role
        )
    return SamlRoleMappingRule(
        attribute_name=rule.attribute_name,
        attribute_value=rule.group,
        account_role=AccountRole(rule.account_role) if rule.account_role else None,
        space_id=rule.space_id if space_role is not None else None,
        space_role=space_role,
        project_id=rule.project_id if rule.project_role else None,
        project_role_id=rule.project_role_id if rule.project_role else None,
    )


async def _live(client: AsyncArizeAdmin, idp_id: str) -> list[SamlRoleMapping]:
    return [m async for m in client.saml_identity_providers.role_mappings.list(idp_id)]


@task(
    name="Ensure SAML configuration",
    task_run_name="ensure SAML configuration {change.target}",
    **STEP_OPTIONS,
)
async def ensure_saml_idp(ctx: StepContext, change: CreateSamlIdentityProvider) -> StepResult:
    """Create the configuration, with its rules in order, unless one of that name exists.

    Default login is off: only the rules let people in (the spec has one granting an account
    role). A configuration found by name is left as it is; the verify re-plan compares its rules.

    Example:
        ```python
        change = CreateSamlIdentityProvider(target="Acme Okta", name="Acme Okta",
            metadata_url="https://idp.acme.example/metadata", email_domains=["acme.example"],
            sync_user_roles=True, rules=[SamlRule(attribute_name="groups", group="staff",
                                                  account_role="MEMBER")])
        await ensure_saml_idp(ctx, change)
        ```
    """
    async with ctx.credentials.get_client() as client:
        rules = [await resolve_rule(ctx, client, rule) for rule in change.rules]
        idp, outcome = await find_or_create(
            lambda: client.saml_identity_providers.find_by_name(change.name),
            lambda: client.saml_identity_providers.create(
                name=change.name,
                email_domains=change.email_domains,
                metadata_url=change.metadata_url,
                sync_user_roles=change.sync_user_roles,
                role_mappings=[request_rule(rule) for rule in rules],
            ),
        )
        calls = client.request_count
    return StepResult(
        change_key=change.key, outcome=outcome, refs={f"saml:{idp.name}": idp.id}, api_calls=calls
    )


@task(name="Add SAML rule", task_run_name="add SAML rule {change.target}", **STEP_OPTIONS)
async def add_saml_mapping(ctx: StepContext, change: AddSamlRoleMapping) -> StepResult:
    """Append the rule so it lands at ``change.index`` among the managed rules.

    Looks first: the rule already at its place (an earlier attempt whose answer was lost) is
    done. Anything else at or before its place means the rules moved since the plan.

    Example:
        ```python
        rule = SamlRule(attribute_name="groups", group="auditors", project="fraud-model",
                        project_id="TW9k...", project_role="Fraud Auditor")
        await add_saml_mapping(ctx, AddSamlRoleMapping(target="rule 3 (auditors)",
                                                       idp_id="U2Ft...", index=3, rule=rule))
        ```

    Raises:
        RuntimeError: the managed rules no longer end where the plan expected; re-run.
    """
    async with ctx.credentials.get_client() as client:
        rule = await resolve_rule(ctx, client, change.rule)
        rules = managed(await _live(client, change.idp_id), rule.attribute_name)
        if len(rules) > change.index and mapping_key(rules[change.index]) == rule_key(rule):
            outcome = Outcome.ALREADY
        elif len(rules) == change.index:
            await client.saml_identity_providers.role_mappings.create(
                change.idp_id, request_rule(rule)
            )
            outcome = Outcome.APPLIED
        else:
            raise RuntimeError(
                f"{change.target}: Arize has {len(rules)} managed rule(s) where the plan "
                f"expected {change.index} before this one; the rules changed during the run, "
                "re-run to plan again"
            )
        calls = client.request_count
    return StepResult(change_key=change.key, outcome=outcome, api_calls=calls)


@task(name="Update SAML rule", task_run_name="update SAML rule {change.target}", **STEP_OPTIONS)
async def update_saml_mapping(ctx: StepContext, change: UpdateSamlRoleMapping) -> StepResult:
    """Rewrite the rule in place (it keeps its position); one already like this is left alone.

    Every grant is sent, the ones the rule no longer has as null, so the rule ends exactly as
    planned whatever it held before.

    Example:
        ```python
        rule = SamlRule(attribute_name="groups", group="editors", account_role="MEMBER")
        await update_saml_mapping(ctx, UpdateSamlRoleMapping(target="rule 0 (editors)",
            idp_id="U2Ft...", mapping_id="U2FtbE1...", index=0, rule=rule, was="viewers → ..."))
        ```
    """
    async with ctx.credentials.get_client() as client:
        rule = await resolve_rule(ctx, client, change.rule)
        live = {m.id: m for m in await _live(client, change.idp_id)}
        current = live.get(change.mapping_id)
        if current is None:
            raise LookupError(f"{change.target}: the rule was removed in Arize; re-run to plan")
        outcome = Outcome.ALREADY
        if mapping_key(current) != rule_key(rule):
            body = request_rule(rule)
            space = (body.space_id, body.space_role) if body.space_id and body.space_role else None
            await client.saml_identity_providers.role_mappings.update(
                change.idp_id,
                change.mapping_id,
                attribute_name=body.attribute_name,
                attribute_value=body.attribute_value,
                account_role=body.account_role,
                space=space,
                project=(body.project_id, body.project_role_id)
                if body.project_id and body.project_role_id
                else None,
            )
            outcome = Outcome.APPLIED
        calls = client.request_count
    return StepResult(change_key=change.key, outcome=outcome, api_calls=calls)


@task(name="Remove SAML rule", task_run_name="remove SAML rule {change.target}", **STEP_OPTIONS)
async def remove_saml_mapping(ctx: StepContext, change: RemoveSamlRoleMapping) -> StepResult:
    """Delete the rule; one already gone counts as done.

    Example:
        ```python
        await remove_saml_mapping(ctx, RemoveSamlRoleMapping(target="rule 4 (contractors)",
            idp_id="U2Ft...", mapping_id="U2FtbE1...", was="contractors → ...",
            destructive=True))
        ```
    """
    async with ctx.credentials.get_client() as client:
        outcome = await remove_if_present(
            lambda: client.saml_identity_providers.role_mappings.delete(
                change.idp_id, change.mapping_id
            )
        )
        calls = client.request_count
    return StepResult(change_key=change.key, outcome=outcome, api_calls=calls)
