"""saml-role-mapping: custom roles as code, keyed by IdP group, and the ordered SAML rules that
map IdP groups to them, written into Arize's SAML configuration."""

from __future__ import annotations

from prefect import flow

from core.planning.changes import Action
from core.planning.context import PlanContext
from flows.engine import execute_plan, load_policy, resolve_trigger
from flows.saml_role_mapping.drift import report_drift
from flows.saml_role_mapping.mapping import (
    DEFAULT_STORE,
    load_last_mapping,
    load_last_rules,
    publish_group_role_mapping,
)
from flows.saml_role_mapping.plan import plan_saml_role_mapping
from flows.saml_role_mapping.spec import SamlRoleMappingSpec
from tasks.planner import planning_task
from tasks.reporting.report import RunbookOutcome, RunStatus
from tasks.triggers import TriggerParam

RULE_ACTIONS = frozenset(
    {
        Action.ADD_SAML_ROLE_MAPPING,
        Action.UPDATE_SAML_ROLE_MAPPING,
        Action.REMOVE_SAML_ROLE_MAPPING,
    }
)
"""The changes that put the configuration's rules back in the spec's order."""

plan_saml_role_mapping_task = planning_task(
    plan_saml_role_mapping, name="Plan saml-role-mapping", task_run_name="plan saml-role-mapping"
)


@flow(name="saml-role-mapping", persist_result=True)
async def saml_role_mapping(
    spec: SamlRoleMappingSpec,
    dry_run: bool = False,
    trigger: TriggerParam = None,
    policy: str = "default",
    mapping_store: str = DEFAULT_STORE,
    report_drift_to_slack: bool = False,
) -> RunbookOutcome:
    """Make each IdP group's custom role and the SAML rules match the spec, then publish both.

    The rules of ``identity_provider`` are put in the spec's order (first match wins); adding
    rules needs no approval, but a change that takes a role away from a group, or replaces
    one, waits for it, as does ``revoke_excess`` removing bindings beyond the rules.

    Roles are created or updated to exactly the listed permissions; with ``prune`` the custom
    roles no mapping names are deleted (a role that still has bindings is refused, nothing
    changes). Removing permissions and deleting roles are destructive and wait for approval.
    After apply the mapping is published as a table artifact (and as JSON and YAML files when
    ``output_dir`` is set), and every group whose role id changed since the last run (a role
    deleted and recreated) is flagged in the notes, so the IdP can be updated.

    Args:
        spec: Group → role mappings, prune, and where to write the mapping files.
        dry_run: Plan only; change nothing and publish nothing.
        trigger: What started the run (filled in by webhooks; empty for manual runs).
        policy: Name of the saved runbook policy block (account, approvals, key store).
        mapping_store: Prefect block that remembers the last published mapping; use one
            per Arize account.
        report_drift_to_slack: Post the plan's changes, if any, to the policy's Slack channel
            (the deployment's drift-check schedule runs a dry run with this on).

    Raises:
        SpecError: a mapping names a predefined role, or prune would delete roles in use;
            the SAML configuration is missing, file-managed (read-only: the message names the
            migration path) or hidden from a non-admin key (403); a rule names something
            missing, or would leave nobody able to log in.
        PlanDrift: live state changed after approval; nothing applied.
        ApprovalTimeout: nobody approved in time; nothing applied.
        ApplyFailed: a change failed after its retries.
        NotConverged: verification found a change that did not take effect.
    """
    trigger = resolve_trigger(trigger)
    runbook_policy = await load_policy(policy)
    last_mapping = await load_last_mapping(mapping_store)

    async def replan():
        context = PlanContext(last_mapping=last_mapping)
        return await plan_saml_role_mapping_task(runbook_policy.credentials, spec, context)

    plan = await replan()
    if spec.rules and any(str(c.action) in RULE_ACTIONS for c in plan.changes):
        last_rules = await load_last_rules(mapping_store)
        if last_rules == [rule.model_dump(mode="json") for rule in spec.rules]:
            plan.notes.insert(
                0,
                "drift: the spec's rules are the ones last applied, so the SAML rules were "
                "edited in Arize since (by hand?); this run puts them back",
            )
    outcome, _ = await execute_plan(plan, replan, runbook_policy, trigger, dry_run=dry_run)
    if report_drift_to_slack and outcome.status is RunStatus.DRY_RUN:
        note = await report_drift(plan, runbook_policy)
        if note:
            outcome.notes.append(note)
    if outcome.status in (RunStatus.COMPLETED, RunStatus.NO_CHANGES):
        published = await publish_group_role_mapping(
            runbook_policy.credentials, spec, last_mapping, mapping_store
        )
        outcome.notes.extend(published.notes)
    return outcome
