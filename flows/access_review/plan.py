"""Plan access-review: the read-only inventory and review, then the remediation of Revokes.

``plan_access_review`` reads the account and lists every grant to review with its findings; it
changes nothing. ``plan_remediation`` turns the reviewers' Revoke decisions into one ordinary
plan (unbind, revoke keys, delete users), recomputed from live state each time so the engine can
check drift before applying and convergence after.
"""

from __future__ import annotations

from pydantic import Field

from arize_admin import ApiKeyType, AsyncArizeAdmin
from core.idp_export import load_active_emails
from core.planning.changes import Change, DeleteUser, RevokeKey, UnbindRole
from core.planning.context import PlanContext
from core.planning.plan import Plan
from flows.access_review.decisions import Decision
from flows.access_review.inventory import Inventory, take_inventory
from flows.access_review.review import ItemKind, Review, ReviewItem, build_review
from flows.access_review.spec import AccessReviewSpec

RUNBOOK = "access-review"


class AccessReviewPlan(Plan):
    """The inventory's plan: no changes, the review and its findings attached (not hashed)."""

    review: Review
    inventory_calls: int = Field(default=0, description="Requests the inventory made.")


async def plan_access_review(
    client: AsyncArizeAdmin, spec: AccessReviewSpec, context: PlanContext = PlanContext()
) -> AccessReviewPlan:
    """Inventory the account and build the review. Changes nothing.

    Example:
        ```python
        @flow
        async def preview(client: AsyncArizeAdmin):
            plan = await plan_access_review(client, AccessReviewSpec(review_id="2025-Q3"))
            print(len(plan.review.items), "grants,", len(plan.review.findings), "findings")
        ```

    Raises:
        SpecError: the IdP export cannot be read; the message names the row.
    """
    review_id = context.review_id or spec.name()
    # Refused before a single request: a half-read export would flag active people.
    active = (
        load_active_emails(spec.idp_export, allow_empty=spec.allow_empty_idp_export)
        if spec.idp_export is not None
        else None
    )
    before = client.request_count
    inventory = await take_inventory(client, refresh_lookback_days=spec.refresh_lookback_days)
    calls = client.request_count - before
    review = build_review(review_id, inventory, spec, active)
    plan = AccessReviewPlan(
        runbook=RUNBOOK,
        subject=review_id,
        review=review,
        api_calls=calls,
        inventory_calls=inventory.api_calls,
    )
    plan.notes.append(f"{len(review.items)} grant(s) to review, {len(review.findings)} finding(s)")
    plan.notes.extend(review.limits)
    return plan


async def plan_remediation(
    client: AsyncArizeAdmin,
    review_id: str,
    revoked: list[ReviewItem],
    decisions: dict[str, Decision],
) -> Plan:
    """The changes that carry out the Revoke decisions still outstanding in live state.

    A grant already gone (removed by hand, or by an earlier run) is listed as in place; the
    runbook's own user and keys are never revoked by it (that would cut the run off).
    """
    before = client.request_count
    live = await take_inventory(client)
    caller = await _caller_id(client)
    calls = client.request_count - before
    plan = build_remediation(review_id, revoked, decisions, live, caller)
    plan.api_calls = calls
    return plan


def build_remediation(
    review_id: str,
    revoked: list[ReviewItem],
    decisions: dict[str, Decision],
    live: Inventory,
    caller_id: str | None,
) -> Plan:
    """Pure: one destructive change per revoked grant that still exists."""
    plan = Plan(runbook=RUNBOOK, subject=f"{review_id} remediation")
    present = (
        {b.id for b in live.bindings}
        | {u.id for u in live.users}
        | {k.id for k in [*live.service_keys, *live.admin_user_keys]}
    )
    caller_keys = {k.id for k in live.admin_user_keys if k.created_by_user_id == caller_id}
    for item in sorted(revoked, key=lambda i: i.id):
        grant_id = _grant_id(item)
        if grant_id not in present:
            plan.in_place.append(f"{item.subject}: {item.grant} is already gone")
            continue
        if grant_id == caller_id or grant_id in caller_keys:
            plan.notes.append(
                f"{item.subject}: {item.grant} is the runbook's own access; revoke it by hand "
                "with another admin's credentials"
            )
            continue
        decision = decisions[item.id]
        how = "by default (nobody decided)" if decision.source == "default" else f"by {decision.by}"
        plan.changes.append(
            _CHANGES[item.kind](
                target=f"{item.grant} of {item.subject}",
                destructive=True,
                stage=item.stage,
                reason=f"revoked in access review {review_id} {how}",
                **item.params,
            )
        )
    return plan


_CHANGES: dict[ItemKind, type[Change]] = {
    ItemKind.ACCOUNT: DeleteUser,
    ItemKind.SPACE: UnbindRole,
    ItemKind.PROJECT: UnbindRole,
    ItemKind.SERVICE_KEY: RevokeKey,
    ItemKind.USER_KEY: RevokeKey,
}
"""The typed change that carries out a Revoke of each kind of grant."""


def _grant_id(item: ReviewItem) -> str:
    if item.kind is ItemKind.ACCOUNT:
        return str(item.params["user_id"])
    if item.kind in (ItemKind.SERVICE_KEY, ItemKind.USER_KEY):
        return str(item.params["api_key_id"])
    return str(item.params["binding_id"])


async def _caller_id(client: AsyncArizeAdmin) -> str | None:
    """The user the runbook's credentials act as (the owner of the caller's user keys)."""
    async for key in client.api_keys.list(key_type=ApiKeyType.USER):
        return key.created_by_user_id
    return None
