"""access-review: who can do what, certified by the people who should know, fixed through the gate.

One run is one review (``spec.review_id``, by default the quarter). It inventories the account,
flags what needs a second look, sends each reviewer their grants with Keep / Revoke buttons,
waits (reminder, escalation, then the policy default), applies the Revokes through the normal
gate, and writes the certification record. Everything the review decides lives on its first
run (``flows.access_review.decisions``), so a rerun of the same review resumes it, and a rerun
of a finished review changes nothing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

from prefect import flow, get_client, get_run_logger, task
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
from prefect.client.schemas.sorting import FlowRunSort
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from blocks.arize import ArizeCredentials
from blocks.policy import RunbookPolicy
from core.naming import slug
from core.planning.context import PlanContext
from core.planning.plan import Plan, SpecError
from flows.access_review import decisions as store
from flows.access_review.decisions import Decision, Manifest, Posted, Verdict
from flows.access_review.messages import post_messages, review_messages, reviewer_channel
from flows.access_review.outputs import CertificationRecord, publish
from flows.access_review.plan import plan_access_review, plan_remediation
from flows.access_review.review import Finding, Review, ReviewItem
from flows.access_review.spec import AccessReviewSpec
from flows.engine import execute_plan, load_policy, resolve_trigger
from tasks.approvals.slack_blocks import escape
from tasks.planner import planning_task
from tasks.reporting.report import RunbookOutcome, RunStatus
from tasks.retry import STEP_OPTIONS
from tasks.triggers import TriggerParam

FINDINGS_KEY = "review-findings"


plan_access_review_task = planning_task(
    plan_access_review, name="Plan access-review", task_run_name="inventory for access review"
)


@task(name="Plan remediation", task_run_name="plan remediation {review_id}", **STEP_OPTIONS)
async def plan_remediation_task(
    credentials: ArizeCredentials,
    review_id: str,
    revoked: list[ReviewItem],
    decisions: dict[str, Decision],
) -> Plan:
    """The remediation plan, on a client opened from ``credentials`` (see ``plan_remediation``)."""
    async with credentials.get_client() as client:
        return await plan_remediation(client, review_id, revoked, decisions)


class AccessReviewOutcome(BaseModel):
    """What a review run returns."""

    review_id: str
    review_run_id: str = Field(description="The run that holds the review's decisions.")
    items: int
    findings: int
    kept: int
    revoked: int
    defaulted: int
    files: list[str] = Field(default_factory=list)
    remediation: RunbookOutcome | None = None


class _Stored(BaseModel):
    findings: list[Finding]
    limits: list[str]


@flow(name="access-review", persist_result=True)
async def access_review(
    spec: AccessReviewSpec = AccessReviewSpec(),  # never mutated
    dry_run: bool = False,
    trigger: TriggerParam = None,
    policy: str = "default",
) -> AccessReviewOutcome:
    """Review every grant in the account with the people responsible, then revoke what they say.

    Args:
        spec: Thresholds, the IdP export, deadlines and the default for undecided grants.
        dry_run: Inventory, findings and files only: no Slack, no waiting, no changes.
        trigger: What started the run (the quarterly schedule, or a person).
        policy: Name of the saved runbook policy block (account, Slack app, gate).

    Raises:
        SpecError: the IdP export does not parse (the message names the row), or the review
            is already running in another run; nothing was sent or changed.
        PlanDrift, ApprovalTimeout, ApplyFailed, NotConverged: from the remediation, as in
            every runbook.
    """
    started = datetime.now(UTC)
    trigger = resolve_trigger(trigger)
    runbook_policy = await load_policy(policy)
    review_id = spec.name()
    run_id = str(flow_run.id)
    logger = get_run_logger()

    home = run_id if dry_run else await _home_run(review_id, run_id)
    review, manifest = await _open_review(runbook_policy, spec, review_id, home, run_id, dry_run)
    async with get_client() as prefect:
        decided = {} if dry_run else await store.read_decisions(prefect, home, len(review.items))
    record = CertificationRecord(review=review, run_id=home, decisions=decided)
    files = await publish(record, spec.output_dir)
    if dry_run or manifest is None:
        return _outcome(review_id, home, review, decided, files, None)

    if spec.slack_review and runbook_policy.slack is not None:
        await send_review(runbook_policy, review, manifest)
    elif spec.slack_review:
        logger.warning("the policy has no Slack app: grants get the default at the deadline")
    decided = await collect_decisions(runbook_policy, review, manifest, spec)

    revoked = [i for i in review.items if decided[i.id].verdict is Verdict.REVOKE]
    credentials = runbook_policy.credentials

    async def replan() -> Plan:
        return await plan_remediation_task(credentials, review_id, revoked, decided)

    remediation = None
    if revoked:
        plan = await replan()
        protected = sorted({i.subject_email for i in revoked if i.subject_email})
        remediation, _ = await execute_plan(
            plan,
            replan,
            runbook_policy,
            trigger,
            dry_run=False,
            started=started,
            protected=protected,
        )
    record = CertificationRecord(
        review=review,
        run_id=home,
        decisions=decided,
        remediation=_remediation_line(remediation, len(revoked)),
        evidence=remediation.evidence if remediation else {},
    )
    files = await publish(record, spec.output_dir)
    return _outcome(review_id, home, review, decided, files, remediation)


def _outcome(
    review_id: str,
    home: str,
    review: Review,
    decided: dict[str, Decision],
    files: list[str],
    remediation: RunbookOutcome | None,
) -> AccessReviewOutcome:
    return AccessReviewOutcome(
        review_id=review_id,
        review_run_id=home,
        items=len(review.items),
        findings=len(review.findings),
        kept=sum(d.verdict is Verdict.KEEP for d in decided.values()),
        revoked=sum(d.verdict is Verdict.REVOKE for d in decided.values()),
        defaulted=sum(d.source == "default" for d in decided.values()),
        files=files,
        remediation=remediation,
    )


def _remediation_line(outcome: RunbookOutcome | None, revoked: int) -> str:
    if outcome is None:
        return "nothing to revoke"
    return (
        f"{revoked} grant(s) revoked by reviewers: {outcome.status.value}, {outcome.applied} "
        f"applied, {outcome.already} already done (plan {outcome.plan_hash[:12]}, approved by "
        f"{outcome.approver or '—'})"
    )


def _tag(review_id: str) -> str:
    return f"access-review:{slug(review_id)}"


async def _home_run(review_id: str, run_id: str) -> str:
    """The run that holds this review: the first run tagged with it, else this one.

    Raises:
        SpecError: another run of the same review is still going.
    """
    tag = _tag(review_id)
    async with get_client() as prefect:
        me = await prefect.read_flow_run(UUID(run_id))
        if tag not in me.tags:
            await prefect.update_flow_run(UUID(run_id), tags=[*me.tags, tag])
        runs = await prefect.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[tag])),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=50,
        )
        for run in runs:
            if str(run.id) == run_id:
                continue
            if await store.read_manifest(prefect, run.id) is None:
                continue
            if run.state is not None and not run.state.is_final():
                raise SpecError(
                    "review_id",
                    review_id,
                    f"is already under way in flow run {run.id}; wait for it, or cancel it "
                    "and run again to resume it",
                )
            return str(run.id)
    return run_id


async def _open_review(
    policy: RunbookPolicy,
    spec: AccessReviewSpec,
    review_id: str,
    home: str,
    run_id: str,
    dry_run: bool,
) -> tuple[Review, Manifest | None]:
    """The review stored on ``home``, or a fresh inventory stored there now."""
    async with get_client() as prefect:
        manifest = None if dry_run else await store.read_manifest(prefect, home)
        if manifest is not None:
            get_run_logger().info(
                "resuming review %s held by run %s (opened %s)",
                review_id,
                home,
                manifest.opened_at.isoformat(timespec="seconds"),
            )
            items = await store.read_items(prefect, home)
            stored = _Stored.model_validate_json(
                await prefect.read_flow_run_input(flow_run_id=UUID(home), key=FINDINGS_KEY)
            )
            review = Review(
                review_id=review_id, items=items, findings=stored.findings, limits=stored.limits
            )
            return review, manifest
        context = PlanContext(review_id=review_id)
        plan = await plan_access_review_task(policy.credentials, spec, context)
        review = plan.review
        if dry_run:
            return review, None
        opened = datetime.now(UTC)
        remind_at = opened + timedelta(seconds=spec.decision_seconds)
        escalate_at = remind_at + timedelta(seconds=spec.reminder_seconds)
        channel = spec.escalation_channel or (
            policy.slack.channel if policy.slack is not None else None
        )
        manifest = Manifest(
            review_id=review_id,
            run_id=home,
            opened_at=opened,
            remind_at=remind_at,
            escalate_at=escalate_at,
            default_at=escalate_at + timedelta(seconds=spec.escalation_seconds),
            default_decision=spec.default_decision,
            items=len(review.items),
            channel=channel,
        )
        # Items and findings first: the manifest is what marks the review as open.
        await store.store_items(prefect, home, review.items)
        stored = _Stored(findings=review.findings, limits=review.limits)
        await store.claim(prefect, home, FINDINGS_KEY, stored.model_dump_json())
        manifest = await store.store_manifest(prefect, manifest)
    return review, manifest


@task(name="Send review", task_run_name="send review {manifest.review_id}")
async def send_review(policy: RunbookPolicy, review: Review, manifest: Manifest) -> int:
    """Post each reviewer their grants once; reviewers already posted to are skipped.

    Returns:
        How many reviewers were posted to by this call.
    """
    assert policy.slack is not None
    slack = policy.slack.get_client()
    sent = 0
    async with get_client() as prefect:
        for reviewer, items in sorted(review.by_reviewer().items()):
            if await store.read_posted(prefect, manifest.run_id, reviewer) is not None:
                continue
            channel, slack_id = await reviewer_channel(slack, reviewer, policy.slack.channel)
            messages = review_messages(
                manifest.run_id, manifest.review_id, reviewer, items, manifest.remind_at
            )
            stamps = await post_messages(slack, channel, messages)
            await store.store_posted(
                prefect,
                manifest.run_id,
                Posted(reviewer=reviewer, slack_user_id=slack_id, channel=channel, messages=stamps),
            )
            sent += 1
    get_run_logger().info("review %s sent to %d reviewer(s)", manifest.review_id, sent)
    return sent


async def collect_decisions(
    policy: RunbookPolicy, review: Review, manifest: Manifest, spec: AccessReviewSpec
) -> dict[str, Decision]:
    """Wait for every item's decision: remind once, escalate once, then apply the default.

    The deadlines come from the manifest, so a resumed review keeps its original ones.
    """
    logger = get_run_logger()
    home = manifest.run_id
    reported: set[str] = set()
    stages: set[str] = set()
    async with get_client() as prefect:
        while True:
            stored = await store.read_decisions(prefect, home, len(review.items))
            decided, void = store.valid_decisions(review.items, stored)
            for reason in set(void) - reported:
                logger.warning("review %s: %s", manifest.review_id, reason)
                reported.add(reason)
            undecided = [i for i in review.items if i.id not in decided]
            now = datetime.now(UTC)
            if not undecided:
                break
            if now >= manifest.default_at:
                await _apply_default(prefect, manifest, undecided)
                stored = await store.read_decisions(prefect, home, len(review.items))
                decided, _ = store.valid_decisions(review.items, stored)
                # An item whose stored decision is void keeps its key taken: default in memory.
                for item in review.items:
                    decided.setdefault(item.id, _default(manifest, item, now))
                break
            # Each stage whose time has come, in order: a review first looked at after the
            # escalation time (its worker was down, or sending took longer than the
            # reminder window) still reminds before it escalates, as the escalation says.
            # A stage is claimed once per review (another run of it may hold it), and
            # asked about once per run: the claim is a call to Prefect.
            for at, key, act in (
                (manifest.remind_at, store.REMINDED_KEY, _remind),
                (manifest.escalate_at, store.ESCALATED_KEY, _escalate),
            ):
                if now >= at and key not in stages:
                    stages.add(key)
                    if await store.claim(prefect, home, key):
                        await act(policy, manifest, undecided)
            upcoming = [
                t
                for t in (manifest.remind_at, manifest.escalate_at, manifest.default_at)
                if t > now
            ]
            until = (min(upcoming) - now).total_seconds() if upcoming else 0.0
            await asyncio.sleep(max(0.05, min(spec.poll_seconds, until)))
        await store.claim(prefect, home, store.CLOSED_KEY)
    logger.info(
        "review %s closed: %d kept, %d revoked (%d by default)",
        manifest.review_id,
        sum(d.verdict is Verdict.KEEP for d in decided.values()),
        sum(d.verdict is Verdict.REVOKE for d in decided.values()),
        sum(d.source == "default" for d in decided.values()),
    )
    return decided


def _default(manifest: Manifest, item: ReviewItem, now: datetime) -> Decision:
    verdict = Verdict.REVOKE if manifest.default_decision == "revoke" else Verdict.KEEP
    return Decision(
        item_id=item.id,
        verdict=verdict,
        by="default",
        at=now,
        source="default",
        flagged=verdict is Verdict.KEEP,
    )


async def _apply_default(
    prefect: PrefectClient, manifest: Manifest, undecided: list[ReviewItem]
) -> None:
    now = datetime.now(UTC)
    for item in undecided:
        # A click that lands first still wins: the default is just one more decision.
        await store.record_decision(prefect, manifest.run_id, _default(manifest, item, now))
    get_run_logger().warning(
        "review %s: %d undecided grant(s) took the default %s",
        manifest.review_id,
        len(undecided),
        manifest.default_decision,
    )


async def _remind(policy: RunbookPolicy, manifest: Manifest, undecided: list[ReviewItem]) -> None:
    """One reminder per reviewer with undecided grants, in the thread of their message."""
    if policy.slack is None:
        return
    slack = policy.slack.get_client()
    waiting: dict[str, int] = {}
    for item in undecided:
        for reviewer in item.reviewers:
            waiting[reviewer] = waiting.get(reviewer, 0) + 1
    async with get_client() as prefect:
        for reviewer, count in sorted(waiting.items()):
            posted = await store.read_posted(prefect, manifest.run_id, reviewer)
            if posted is None or not posted.channel:
                continue
            await slack.chat_postMessage(
                channel=posted.channel,
                thread_ts=posted.messages[0] if posted.messages else None,
                text=f"Reminder: {count} grant(s) in access review "
                f"{escape(manifest.review_id)} still need your decision "
                f"({escape(reviewer)}). Undecided grants are escalated next.",
            )
    get_run_logger().info("review %s: reminded %d reviewer(s)", manifest.review_id, len(waiting))


async def _escalate(policy: RunbookPolicy, manifest: Manifest, undecided: list[ReviewItem]) -> None:
    """One message to the escalation channel listing what nobody decided."""
    if policy.slack is None or not manifest.channel:
        return
    listed = [
        f"• {escape(i.subject)}: {escape(i.grant)} (reviewers: {escape(', '.join(i.reviewers))})"
        for i in undecided[:30]
    ]
    if len(undecided) > len(listed):
        listed.append(f"…and {len(undecided) - len(listed)} more (see the review's files)")
    default = (
        "kept and flagged"
        if manifest.default_decision == "keep_and_flag"
        else ("revoked (through the approval gate)")
    )
    text = (
        f"Escalation: access review {escape(manifest.review_id)} has {len(undecided)} "
        f"undecided grant(s) after the reminder. Account admins, please decide; at the "
        f"deadline they will be {default}.\n" + "\n".join(listed)
    )
    await policy.slack.get_client().chat_postMessage(channel=manifest.channel, text=text[:3900])
    get_run_logger().warning(
        "review %s: escalated %d undecided grant(s) to %s",
        manifest.review_id,
        len(undecided),
        manifest.channel,
    )


__all__ = ["AccessReviewOutcome", "RunStatus", "access_review"]
