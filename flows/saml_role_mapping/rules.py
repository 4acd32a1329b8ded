"""Plan the SAML rules: the spec's ordered list against the configuration's live mappings.

Order matters (first match wins for custom space roles and project roles), and Arize only
appends new rules and keeps an updated rule's place. So the plan keeps the longest prefix that
already matches, rewrites the rules after it in place, appends what the spec has beyond the
live list and removes what the live list has beyond the spec. Adds run first, then updates
(those granting an account role before the others, so a login rule is never missing midway),
then removals, one change per stage: a rule's place depends on those before it.

Whether the rule changes need approval is decided by what they do to people, not by the edit:
every group, and every pair of groups whose rules meet on a space or project, is evaluated
under the live and the new rules; if any loses or has a role replaced, every rule change is
destructive and the plan says, per group, what changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from arize_admin import (
    AsyncArizeAdmin,
    CustomRole,
    PermissionDeniedError,
    Role,
    RoleBinding,
    RoleBindingResourceType,
)
from arize_admin.types import SamlIdentityProviderSummary, SamlRoleMapping
from core.idp_export import load_group_memberships
from core.planning.changes import (
    AddSamlRoleMapping,
    Change,
    CreateSamlIdentityProvider,
    RemoveSamlRoleMapping,
    SamlRule,
    UnbindRole,
    UpdateSamlRoleMapping,
)
from core.planning.plan import Plan, SpecError
from core.planning.specs import PREDEFINED_SPACE_ROLES
from flows.saml_role_mapping.effects import (
    SPACE_LEVEL,
    Grant,
    evaluate,
    gains,
    group_sets,
    losses,
)
from flows.saml_role_mapping.spec import IdentityProviderSpec, SamlRoleMappingSpec
from tasks.steps.saml import RuleKey, is_protected, managed, mapping_key, rule_key

MAPPINGS = 10
"""First stage of rule changes (after the roles they name); one stage per change from here."""
REVOKE = 1000
"""Stage of excess bindings, after every rule is in place."""

MIGRATION = (
    "a file-managed configuration is read-only through the API. To manage its rules here, "
    "migrate it: create an API-managed configuration with the same metadata and rules (give "
    "identity_provider a new name and `create:`), check a SAML login, then remove the "
    "file-managed entry from the deployment's configuration file. Nothing was changed"
)
FORBIDDEN = (
    "Arize refused to show SAML configurations (403): the policy's API key must belong to an "
    "account admin of an Enterprise account. Use such a key in the policy's credentials (or "
    "drop identity_provider and rules to manage only the custom roles); nothing was changed"
)


@dataclass
class Live:
    """What the rules are planned against: names for words, and the mappings in order."""

    idp: SamlIdentityProviderSummary | None
    mappings: list[SamlRoleMapping] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    """Space, project and role ids → names, for the plan's words."""
    spaces: dict[str, str] = field(default_factory=dict)
    """Space name → id."""


async def plan_rules(
    plan: Plan, client: AsyncArizeAdmin, spec: SamlRoleMappingSpec, roles: dict[str, Role]
) -> None:
    """Add the rule changes (and excess bindings) to ``plan``; change nothing.

    Raises:
        SpecError: the configuration is missing, file-managed or not readable with this key;
            a rule names a space, project or custom role that does not exist; no rule would
            let anyone log in.
    """
    assert spec.identity_provider is not None  # the spec's validator requires it with rules
    wanted = spec.identity_provider
    live = Live(idp=await _find_idp(client, wanted))
    live.names = {role.id: role.name for role in roles.values()}
    live.spaces = {s.name: s.id async for s in client.spaces.list(limit=100)}
    live.names |= {space_id: name for name, space_id in live.spaces.items()}
    live.names |= {p.id: p.name async for p in client.projects.list(limit=100)}
    rules = [await _resolve(client, spec, index, live, roles) for index in range(len(spec.rules))]
    attribute = wanted.attribute_name
    if live.idp is None:
        if not any(r.account_role for r in rules):
            raise SpecError(
                "rules",
                len(rules),
                "no rule grants an account_role, so nobody could log in through the new "
                "configuration (its default login is off); add one, e.g. account_role: MEMBER",
            )
        assert wanted.create is not None and wanted.name is not None  # _find_idp checked
        plan.changes.append(
            CreateSamlIdentityProvider(
                target=wanted.name,
                name=wanted.name,
                metadata_url=wanted.create.metadata_url,
                email_domains=wanted.create.email_domains,
                sync_user_roles=wanted.create.sync_user_roles,
                rules=rules,
                stage=MAPPINGS,
                reason=f"no SAML configuration named {wanted.name}; created with "
                f"{len(rules)} rule(s) in order",
            )
        )
        new_keys = [rule_key(r) for r in rules]
        _explain_effects(plan, [], new_keys, attribute, live.names)
    else:
        live.mappings = [
            m async for m in client.saml_identity_providers.role_mappings.list(live.idp.id)
        ]
        kept = [m for m in live.mappings if m not in managed(live.mappings, attribute)]
        logins = any(r.account_role for r in rules) or any(m.account_role for m in kept)
        if not live.idp.default_login_enabled and not logins:
            # Arize refuses to lose the last login rule (409): refuse before any change.
            raise SpecError(
                "rules",
                len(rules),
                f"{live.idp.name} has default login off and no rule would grant an account "
                "role any more, so nobody could log in; keep a rule with an account_role",
            )
        new_keys = _diff(plan, live, rules, attribute)
    if spec.idp_export:
        builtin = {role.id: role.name for role in roles.values() if role.is_predefined}
        await _plan_excess(plan, client, spec, new_keys, live.names, builtin)


async def _find_idp(
    client: AsyncArizeAdmin, wanted: IdentityProviderSpec
) -> SamlIdentityProviderSummary | None:
    try:
        idps = [idp async for idp in client.saml_identity_providers.list(limit=100)]
    except PermissionDeniedError as ex:
        raise SpecError("identity_provider", _which(wanted), FORBIDDEN) from ex
    domain = (wanted.email_domain or "").lower()
    found = [
        idp
        for idp in idps
        if idp.id == wanted.id or idp.name == wanted.name or domain in idp.email_domains
    ]
    if not found:
        if wanted.create is not None:
            return None
        have = ", ".join(f"{i.name} ({', '.join(i.email_domains)})" for i in idps) or "none"
        raise SpecError(
            "identity_provider",
            _which(wanted),
            f"no such SAML configuration; the account has: {have}. Name one of them, or add "
            "`create:` (metadata_url, email_domains) to create it",
        )
    idp = found[0]
    if idp.is_managed_by_file:
        raise SpecError("identity_provider", _which(wanted), f"{idp.name}: {MIGRATION}")
    return idp


def _which(wanted: IdentityProviderSpec) -> str:
    return str(wanted.id or wanted.name or wanted.email_domain)


async def _resolve(
    client: AsyncArizeAdmin,
    spec: SamlRoleMappingSpec,
    index: int,
    live: Live,
    roles: dict[str, Role],
) -> SamlRule:
    """The spec's rule ``index`` with the ids of its space, project and custom roles."""
    rule = spec.rules[index]
    field = f"rules[{index}]"
    created = {m.role.name for m in spec.mappings}

    def custom_role(name: str, where: str) -> str | None:
        role = roles.get(name)
        if role is not None and not role.is_predefined:
            return role.id
        if name in created:
            return None  # created by this plan's first stage; the step finds its id
        raise SpecError(
            f"{field}.{where}",
            name,
            f"no custom role of that name; use {', '.join(PREDEFINED_SPACE_ROLES)} or a custom "
            "role of the account or of this spec's mappings",
        )

    space_id = None
    if rule.space:
        space_id = live.spaces.get(rule.space)
        if space_id is None:
            raise SpecError(f"{field}.space", rule.space, "no space of that name")
    values: dict[str, object] = {
        "attribute_name": spec.identity_provider.attribute_name if spec.identity_provider else "",
        "group": rule.group,
        "account_role": rule.account_role,
        "space": rule.space,
        "space_id": space_id,
    }
    if rule.space_role:
        custom = rule.space_role not in PREDEFINED_SPACE_ROLES
        values |= {"space_role": rule.space_role, "space_role_custom": custom}
        if custom:
            values["space_role_id"] = custom_role(rule.space_role, "space_role")
    if rule.project and rule.project_role and space_id:
        project = await client.projects.find_by_name(rule.project, space_id=space_id)
        if project is None:
            raise SpecError(f"{field}.project", rule.project, f"no such project in {rule.space}")
        live.names[project.id] = project.name
        values |= {
            "project": rule.project,
            "project_id": project.id,
            "project_role": rule.project_role,
            "project_role_id": custom_role(rule.project_role, "project_role"),
        }
    return SamlRule.model_validate(values)


def _diff(plan: Plan, live: Live, rules: list[SamlRule], attribute: str) -> list[RuleKey]:
    """Plan the rule changes; return the configuration's rules as they will be, in order."""
    assert live.idp is not None
    current = managed(live.mappings, attribute)
    keep = 0
    while (
        keep < min(len(current), len(rules))
        and mapping_key(current[keep]) == rule_key(rules[keep])
    ):
        plan.in_place.append(f"SAML rule {keep + 1}: {rules[keep].describe()}")
        keep += 1
    idp_id = live.idp.id
    adds: list[Change] = [
        AddSamlRoleMapping(
            target=f"SAML rule {i + 1} ({rules[i].group})",
            idp_id=idp_id,
            index=i,
            rule=rules[i],
            reason=rules[i].describe(),
        )
        for i in range(len(current), len(rules))
    ]
    updates = [
        UpdateSamlRoleMapping(
            target=f"SAML rule {i + 1} ({rules[i].group})",
            idp_id=idp_id,
            mapping_id=current[i].id,
            index=i,
            rule=rules[i],
            was=_words(current[i], live.names),
            reason=f"{_words(current[i], live.names)} → {rules[i].describe()}",
        )
        for i in range(keep, min(len(current), len(rules)))
    ]
    # A rule granting an account role first: Arize refuses to lose the last login rule.
    updates.sort(key=lambda change: change.rule.account_role is None)
    removes = [
        RemoveSamlRoleMapping(
            target=f"SAML rule {i + 1} ({current[i].attribute_value})",
            idp_id=idp_id,
            mapping_id=current[i].id,
            was=_words(current[i], live.names),
            reason=f"not in the spec: {_words(current[i], live.names)}",
        )
        for i in range(len(rules), len(current))
    ]
    changes: list[Change] = [*adds, *updates, *removes]
    for n, change in enumerate(changes):
        change.stage = MAPPINGS + n
    old_keys = [mapping_key(m) for m in live.mappings]
    new_keys = _after(live.mappings, rules, attribute)
    if changes:
        plan.notes.append(
            f"drift: {len(updates) + len(removes)} SAML rule(s) in Arize differ from the spec "
            f"and {len(adds)} are missing (edited by hand, or the spec changed since the last "
            "apply); the changes below put the spec's order back"
        )
    others = [m for m in live.mappings if m not in current]
    if others:
        plan.in_place.append(
            f"{len(others)} SAML rule(s) left alone: the admin mapping and rules on attributes "
            f"other than {attribute}"
        )
    destructive = _explain_effects(plan, old_keys, new_keys, attribute, live.names)
    for change in changes:
        change.destructive = destructive
    plan.changes.extend(changes)
    return new_keys


def _after(mappings: list[SamlRoleMapping], rules: list[SamlRule], attribute: str) -> list[RuleKey]:
    """The configuration's rules once the plan is applied: managed places rewritten in order."""
    pending = [rule_key(r) for r in rules]
    out: list[RuleKey] = []
    for mapping in mappings:
        if mapping.attribute_name == attribute and not is_protected(mapping):
            if pending:
                out.append(pending.pop(0))
            continue  # beyond the spec's rules: removed
        out.append(mapping_key(mapping))
    return out + pending


def _explain_effects(
    plan: Plan, old: list[RuleKey], new: list[RuleKey], attribute: str, names: dict[str, str]
) -> bool:
    """Note per group what changes; True when anyone loses or has a role replaced."""
    destructive = False
    for groups in group_sets(old + new, attribute):
        before = evaluate(old, attribute, set(groups))
        after = evaluate(new, attribute, set(groups))
        who = f"group {groups[0]}" if len(groups) == 1 else f"members of {' and '.join(groups)}"
        lost = losses(before, after, names)
        if lost:
            destructive = True
            plan.notes.append(f"{who} loses: {'; '.join(lost)} (needs approval)")
        gained = gains(before, after, names)
        if gained:
            plan.notes.append(f"{who} gains: {'; '.join(gained)}")
    if old != new:
        plan.notes.append(
            "rule changes reach people at their next SAML login, and only when the "
            "configuration syncs user roles; sessions and API keys are not revoked"
        )
    return destructive


def _words(mapping: SamlRoleMapping, names: dict[str, str]) -> str:
    grants = []
    if mapping.account_role:
        grants.append(f"account {mapping.account_role}")
    if mapping.space_id and mapping.space_role is not None:
        role = mapping.space_role
        label = names.get(role.id, role.id) if isinstance(role, CustomRole) else str(role.name)
        grants.append(f"{label} on space {names.get(mapping.space_id, mapping.space_id)}")
    if mapping.project_id and mapping.project_role_id:
        role_name = names.get(mapping.project_role_id, mapping.project_role_id)
        grants.append(f"{role_name} on project {names.get(mapping.project_id, mapping.project_id)}")
    return f"{mapping.attribute_value} → {', '.join(grants)}"


async def _plan_excess(
    plan: Plan,
    client: AsyncArizeAdmin,
    spec: SamlRoleMappingSpec,
    rules: list[RuleKey],
    names: dict[str, str],
    builtin: dict[str, str],
) -> None:
    """List (and with ``revoke_excess`` remove) bindings beyond what people's groups give.

    A built-in space role counts as a binding too (Arize lists memberships as SPACE
    bindings); it is within the rules when they give that role or a more permissive one.
    """
    assert spec.idp_export is not None and spec.identity_provider is not None
    people = load_group_memberships(spec.idp_export)
    users = {u.email.lower(): u async for u in client.users.list(limit=100)}
    by_user: dict[str, list[RoleBinding]] = {}
    for resource_type in RoleBindingResourceType:
        async for binding in client.role_bindings.list(resource_type=resource_type, limit=100):
            by_user.setdefault(binding.user_id, []).append(binding)
    attribute = spec.identity_provider.attribute_name
    found = 0
    for email in sorted(people):
        user = users.get(email)
        if user is None:
            continue
        grant = evaluate(rules, attribute, people[email])
        for binding in by_user.get(user.id, []):
            if _granted(grant, binding, builtin.get(binding.role_id)):
                continue
            found += 1
            kind = str(binding.resource_type).lower()
            where = f"{kind} {names.get(binding.resource_id, binding.resource_id)}"
            role = names.get(binding.role_id, binding.role_id)
            groups = ", ".join(sorted(people[email])) or "no groups"
            line = f"{email}: {role} on {where} is beyond what the rules give ({groups})"
            if spec.revoke_excess:
                plan.changes.append(
                    UnbindRole(
                        target=f"{role} of {email} on {where}",
                        binding_id=binding.id,
                        user_id=user.id,
                        resource_id=binding.resource_id,
                        destructive=True,
                        stage=REVOKE,
                        reason="beyond the SAML rules (revoke_excess)",
                    )
                )
            else:
                plan.notes.append(f"excess: {line}; set revoke_excess: true to remove it")
    if not found:
        plan.in_place.append(
            f"no role bindings beyond the rules among the {len(people)} people of the IdP export"
        )


def _granted(grant: Grant, binding: RoleBinding, builtin: str | None) -> bool:
    if binding.resource_type != RoleBindingResourceType.SPACE:
        return grant.projects.get(binding.resource_id) == binding.role_id
    given = grant.spaces.get(binding.resource_id)
    if builtin is None:
        return given == f"custom:{binding.role_id}"
    return given is not None and SPACE_LEVEL.get(given, -1) >= SPACE_LEVEL[builtin]
