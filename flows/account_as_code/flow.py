"""The flows: ``apply-account`` (the files, through gate → apply → verify → report) and
``detect-drift`` (nightly: plan the files against the account, tell Slack once per drift)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.utilities.annotations import quote
from prefect.variables import Variable
from pydantic import BaseModel

import flows.account_as_code.steps  # noqa: F401  (registers the steps of the new changes)
from core.planning.context import PlanContext
from core.planning.plan import Plan
from flows.account_as_code.drift import DriftSource, adopt_patch, checkout
from flows.account_as_code.export import account_spec
from flows.account_as_code.format import AccountSpec
from flows.account_as_code.live import read_live
from flows.account_as_code.loader import load_account
from flows.account_as_code.plan import diff_account, plan_account
from flows.account_as_code.scope import managed_scope
from flows.engine import execute_plan, load_policy, resolve_trigger
from tasks.planner import planning_task
from tasks.reporting.managed_scope import publish_scope
from tasks.reporting.report import RunbookOutcome
from tasks.triggers import TriggerParam

plan_account_task = planning_task(
    plan_account, name="Plan apply-account", task_run_name="plan apply-account"
)


@flow(name="apply-account", persist_result=True)
async def apply_account(
    spec: AccountSpec,
    dry_run: bool = False,
    trigger: TriggerParam = None,
    policy: str = "default",
) -> RunbookOutcome:
    """Make the account match the declared files: spaces, roles, people, bindings, keys.

    Removals (authoritative kinds only), narrowing role changes and restrictions wait for
    approval. Nobody is deleted from the account, even when a removal takes their last access.

    Args:
        spec: The account as `arize-runbooks account plan` reads it from a directory.
        dry_run: Plan only; change nothing.
        trigger: What started the run (filled in by webhooks; empty for manual runs).
        policy: Name of the saved runbook policy block (account, approvals, key store).

    Raises:
        SpecError: the files name something that does not exist; nothing changed.
        PlanDrift: live state changed after approval; nothing applied.
        ApprovalTimeout: nobody approved in time; nothing applied.
        ApplyFailed: a change failed after its retries.
        NotConverged: verification found a change that did not take effect.
    """
    trigger = resolve_trigger(trigger)
    runbook_policy = await load_policy(policy)

    async def replan():
        context = PlanContext(keys=runbook_policy.key_store)
        return await plan_account_task(runbook_policy.credentials, quote(spec), context)

    plan = await replan()
    if not dry_run:
        # The files being applied are the account's truth from now on (a dry run may be a
        # pull request's): every runbook's report compares its changes against their scope.
        await publish_scope(managed_scope(spec, source="the files apply-account applied"))
    outcome, _ = await execute_plan(plan, replan, runbook_policy, trigger, dry_run=dry_run)
    return outcome


class DriftReport(BaseModel):
    """What one detect-drift run found."""

    source: str
    drift: bool
    reported: bool
    plan_hash: str | None = None
    changes: list[str] = []
    adopt_patch: str = ""
    reverted: str | None = None
    configured: bool = True
    """False: the source directory does not exist yet (nothing was checked)."""
    """With ``revert``: how the apply-account run ended, or why nothing was applied."""


def drift_key(name: str) -> str:
    """The key of this source's remembered drift (a Prefect variable) and drift artifact.

    Both allow lower-case letters, digits and dashes only.
    """
    return "account-drift-" + (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "default")


@flow(name="detect-drift", persist_result=True)
async def detect_drift(
    source: DriftSource,
    policy: str = "default",
    name: str = "default",
    revert: str | None = None,
    requested_by: str | None = None,
) -> DriftReport:
    """Plan the declared account against live state; report drift once while it is unchanged.

    Slack gets the drift with what Revert would apply (a gated apply-account run) and the
    YAML patch that would Adopt it (also a markdown artifact of this run).

    Args:
        source: The declared directory: a path, or a git URL, ref and subdirectory.
        policy: Name of the saved runbook policy block (account, Slack).
        name: This source's name, for the remembered drift hash.
        revert: Set by the Revert button: the posted drift's hash. If the drift is still that
            one, the files are applied (apply-account, gated); otherwise nothing is.
        requested_by: Who clicked Revert (Slack's e-mail), for the record.
    """
    logger = get_run_logger()
    if source.path is not None and not await asyncio.to_thread(Path(source.path).is_dir):
        # On by default: until the account is exported into the runbooks' home (or the
        # deployment points at a repository), each night says so instead of failing.
        logger.warning(
            "no account directory at %s: export one there (`arize-runbooks account export "
            "%s`) or point this deployment's source at your repository", source.path, source.path,
        )
        return DriftReport(source=source.describe(), drift=False, reported=False, configured=False)
    runbook_policy = await load_policy(policy)
    async with checkout(source) as directory:
        loaded = load_account(directory)
        async with runbook_policy.credentials.get_client() as client:
            live = await read_live(client)
        plan = diff_account(loaded.spec, live)
        await publish_scope(managed_scope(loaded.spec, source.describe(), live))
        patch = adopt_patch(directory, account_spec(live)) if plan.changes else ""
    variable = drift_key(name)
    if revert is not None:
        return await _revert(source, loaded.spec, plan, revert, policy, requested_by)
    if not plan.changes:
        await Variable.aset(variable, "", overwrite=True)
        logger.info("no drift: the account matches %s", source.describe())
        return DriftReport(source=source.describe(), drift=False, reported=False)
    report = DriftReport(
        source=source.describe(), drift=True, reported=False, plan_hash=plan.hash,
        changes=[c.describe() for c in plan.changes], adopt_patch=patch,
    )
    if await Variable.aget(variable, default="") == plan.hash:
        logger.info("drift unchanged since it was reported (plan %s)", plan.hash[:12])
        return report
    await acreate_markdown_artifact(
        key=variable,
        markdown=_drift_markdown(source, plan.render_markdown(), patch),
        description="Account drift: what Revert applies, and the patch that adopts it.",
    )
    if runbook_policy.slack is not None:
        from flows.account_as_code.slack import post_drift

        await post_drift(runbook_policy.slack, source, plan, patch)
    await Variable.aset(variable, plan.hash, overwrite=True)
    report.reported = True
    return report


async def _revert(
    source: DriftSource, spec: AccountSpec, plan: Plan, revert: str, policy: str,
    requested_by: str | None,
) -> DriftReport:
    report = DriftReport(
        source=source.describe(), drift=bool(plan.changes), reported=False,
        plan_hash=plan.hash if plan.changes else None,
        changes=[c.describe() for c in plan.changes],
    )
    if not plan.changes or not plan.hash.startswith(revert):
        # Someone changed the account or the files since the message: what they saw is not
        # what would be applied, so nothing is; the next nightly run reports the new drift.
        report.reverted = "not reverted: the drift changed since it was posted"
        get_run_logger().warning("%s", report.reverted)
        return report
    get_run_logger().info("reverting drift %s for %s", revert, requested_by or "someone")
    outcome = await apply_account(spec=spec, policy=policy)
    report.reverted = outcome.status.value
    return report


def _drift_markdown(source: DriftSource, plan_markdown: str, patch: str) -> str:
    return "\n".join([
        f"# Account drift from {source.describe()}",
        "",
        "## Revert: what apply-account would change (destructive changes are gated)",
        "",
        plan_markdown,
        "",
        "## Adopt: the patch that makes the files match the account",
        "",
        "```diff",
        patch.rstrip() or "(nothing to patch in these files)",
        "```",
    ])
