"""A review's durable state on its flow run, through Prefect's run-input API.

The review's run holds, under keys of ``[a-z0-9-]``:

- ``review-manifest``: the review's name, when it opened, its deadlines and channel;
- ``review-items-<xx>``: the items, in buckets by the first two hex digits of their id, so the
  click handler reads one small bucket, not the whole review;
- ``review-decision-<item id>``: one decision per item. Run inputs are unique per
  ``(flow run, key)``, so the first decision stored wins and a second is refused by the
  database itself, whoever sends it (a click, a second reviewer, the deadline's default);
- ``review-posted-<reviewer>``, ``review-reminded``, ``review-escalated``, ``review-closed``:
  markers that make posting, reminding and escalating happen once across reruns.

Shared by the flow and the webhook service's click handler; every function takes an open
``PrefectClient``.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

import httpx
from prefect.client.orchestration import PrefectClient
from pydantic import BaseModel, Field, TypeAdapter

from core.approvals.rules import ApprovalPolicy, Directory, Subjects, VoteChannel, Voter, refusal
from flows.access_review.review import ReviewItem

MANIFEST_KEY = "review-manifest"
ITEMS_PREFIX = "review-items-"
DECISION_PREFIX = "review-decision-"
POSTED_PREFIX = "review-posted-"
REMINDED_KEY = "review-reminded"
ESCALATED_KEY = "review-escalated"
CLOSED_KEY = "review-closed"

_ITEMS: TypeAdapter[list[ReviewItem]] = TypeAdapter(list[ReviewItem])


class Verdict(StrEnum):
    """A reviewer's answer about one grant."""

    KEEP = "keep"
    REVOKE = "revoke"


class Decision(BaseModel):
    """Who decided what about one item, when, and how (a click or the deadline's default)."""

    item_id: str
    verdict: Verdict
    by: str = Field(description="The reviewer's email, or 'default' for the policy default.")
    slack_user_id: str | None = None
    at: datetime
    source: Literal["slack", "default"] = "slack"
    flagged: bool = Field(
        default=False, description="Kept by the keep_and_flag default: nobody certified it."
    )


class Manifest(BaseModel):
    """What the click handler and reruns need to know about the review."""

    review_id: str
    run_id: str
    opened_at: datetime
    remind_at: datetime
    escalate_at: datetime
    default_at: datetime
    default_decision: str
    items: int
    channel: str | None = None


class Posted(BaseModel):
    """Where a reviewer's messages went, so a rerun does not post them again."""

    reviewer: str
    slack_user_id: str | None
    channel: str | None
    messages: list[str] = Field(default_factory=list, description="Message timestamps.")


def bucket(item_id: str) -> str:
    """The items bucket of an item id."""
    return f"{ITEMS_PREFIX}{item_id[:2]}"


def decision_key(item_id: str) -> str:
    """Run-input key of an item's decision; the key itself makes the first decision win."""
    return f"{DECISION_PREFIX}{item_id}"


def posted_key(reviewer: str) -> str:
    """Run-input key recording a reviewer's messages (a hash: emails have ``@`` and dots)."""
    return f"{POSTED_PREFIX}{hashlib.sha256(reviewer.encode()).hexdigest()[:20]}"


async def _create(client: PrefectClient, run_id: UUID | str, key: str, value: str) -> bool:
    """Store ``value`` under ``key`` unless the key exists; True if this call stored it."""
    try:
        await client.create_flow_run_input(
            flow_run_id=UUID(str(run_id)), key=key, value=value, sender="access-review"
        )
    except httpx.HTTPStatusError as ex:
        if ex.response.status_code == 409:
            return False
        raise
    return True


async def _read(client: PrefectClient, run_id: UUID | str, key: str) -> str | None:
    try:
        return await client.read_flow_run_input(flow_run_id=UUID(str(run_id)), key=key)
    except httpx.HTTPStatusError as ex:
        if ex.response.status_code == 404:
            return None
        raise


async def store_manifest(client: PrefectClient, manifest: Manifest) -> Manifest:
    """Store the manifest once; a rerun gets the one stored first (its deadlines stand)."""
    if await _create(client, manifest.run_id, MANIFEST_KEY, manifest.model_dump_json()):
        return manifest
    stored = await read_manifest(client, manifest.run_id)
    assert stored is not None
    return stored


async def read_manifest(client: PrefectClient, run_id: UUID | str) -> Manifest | None:
    """The review's manifest, or None if ``run_id`` holds no review."""
    raw = await _read(client, run_id, MANIFEST_KEY)
    return Manifest.model_validate_json(raw) if raw is not None else None


async def store_items(client: PrefectClient, run_id: UUID | str, items: list[ReviewItem]) -> None:
    """Store the items in buckets; buckets already stored (a rerun) are left as they are."""
    buckets: dict[str, list[ReviewItem]] = defaultdict(list)
    for item in items:
        buckets[bucket(item.id)].append(item)
    for key, chunk in sorted(buckets.items()):
        await _create(client, run_id, key, _ITEMS.dump_json(chunk).decode())


async def read_items(client: PrefectClient, run_id: UUID | str) -> list[ReviewItem]:
    """Every stored item, in bucket order."""
    inputs = await client.filter_flow_run_input(
        flow_run_id=UUID(str(run_id)), key_prefix=ITEMS_PREFIX, limit=512, exclude_keys=set()
    )
    items: list[ReviewItem] = []
    for entry in sorted(inputs, key=lambda i: i.key):
        items.extend(_ITEMS.validate_json(entry.value))
    return items


async def read_item(client: PrefectClient, run_id: UUID | str, item_id: str) -> ReviewItem | None:
    """One stored item, reading only its bucket."""
    raw = await _read(client, run_id, bucket(item_id))
    if raw is None:
        return None
    return next((i for i in _ITEMS.validate_json(raw) if i.id == item_id), None)


async def record_decision(client: PrefectClient, run_id: UUID | str, decision: Decision) -> bool:
    """Record a decision; False if the item was already decided (the first one stands)."""
    return await _create(client, run_id, decision_key(decision.item_id), decision.model_dump_json())


async def read_decision(client: PrefectClient, run_id: UUID | str, item_id: str) -> Decision | None:
    """The item's decision, or None."""
    raw = await _read(client, run_id, decision_key(item_id))
    return Decision.model_validate_json(raw) if raw is not None else None


async def read_decisions(
    client: PrefectClient, run_id: UUID | str, expected: int
) -> dict[str, Decision]:
    """Every decision on the review, by item id."""
    inputs = await client.filter_flow_run_input(
        flow_run_id=UUID(str(run_id)),
        key_prefix=DECISION_PREFIX,
        limit=expected + 1,
        exclude_keys=set(),
    )
    decisions = (Decision.model_validate_json(i.value) for i in inputs)
    return {d.item_id: d for d in decisions}


async def claim(client: PrefectClient, run_id: UUID | str, key: str, value: str = "true") -> bool:
    """Claim a once-only step (remind, escalate, close); False if already claimed."""
    return await _create(client, run_id, key, value)


async def is_claimed(client: PrefectClient, run_id: UUID | str, key: str) -> bool:
    """Whether a once-only step was claimed."""
    return await _read(client, run_id, key) is not None


async def read_posted(client: PrefectClient, run_id: UUID | str, reviewer: str) -> Posted | None:
    """Where a reviewer's messages were posted, or None if not yet."""
    raw = await _read(client, run_id, posted_key(reviewer))
    return Posted.model_validate_json(raw) if raw is not None else None


async def store_posted(client: PrefectClient, run_id: UUID | str, posted: Posted) -> None:
    """Record a reviewer's messages once they are posted."""
    await _create(client, run_id, posted_key(posted.reviewer), posted.model_dump_json())


def refusal_of(item: ReviewItem, voter: Voter) -> str | None:
    """Why ``voter`` may not decide ``item``, or None: the approvals' rule, per grant.

    The item's reviewers are the permitted approvers and its subject is protected, so the
    subject rule comes first and nothing overrides it. The click handler asks before storing a
    decision, and the flow asks again of every stored decision before acting on it.
    """
    policy = ApprovalPolicy(approver_emails=item.reviewers, cli_votes=False, ui_votes=False)
    subjects = Subjects.of([item.subject_email or ""], None)
    directory = Directory.of(policy, slack_configured=True)
    return refusal(policy, voter, subjects, directory)


def valid_decisions(
    items: list[ReviewItem], decisions: dict[str, Decision]
) -> tuple[dict[str, Decision], list[str]]:
    """The decisions that obey the rule, and why the others are void.

    A run input can be written by anyone with access to Prefect's API, not only by the click
    handler, so the flow does not take a stored decision on trust.
    """
    by_id = {i.id: i for i in items}
    valid: dict[str, Decision] = {}
    void: list[str] = []
    for item_id, decision in decisions.items():
        item = by_id.get(item_id)
        if item is None:
            void.append(f"decision on unknown item {item_id}: ignored")
            continue
        if decision.source == "default":
            valid[item_id] = decision
            continue
        voter = Voter(
            channel=VoteChannel.SLACK,
            id=decision.slack_user_id or decision.by,
            email=decision.by,
        )
        why = refusal_of(item, voter)
        if why is not None:
            void.append(f"{item.subject}: {item.grant}: {why}; decision ignored")
            continue
        valid[item_id] = decision
    return valid, void
