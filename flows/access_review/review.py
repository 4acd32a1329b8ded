"""From the inventory to the review: one item per grant, its reviewers, and the findings.

A grant is one thing a reviewer can keep or revoke: a person's account, a space binding (which
is the space membership), a project binding, a service key, an account admin's user key. Space
admins review their spaces and the projects in them; account admins review account-level
grants, keys, and anything in a space with no other admin. Each item names its subject, the
person who may not certify it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from core.planning.changes import Action
from flows.access_review.inventory import Inventory, KeyRecord, UserRecord
from flows.access_review.spec import AccessReviewSpec


class ItemKind(StrEnum):
    """What kind of grant an item is."""

    ACCOUNT = "account"
    SPACE = "space"
    PROJECT = "project"
    SERVICE_KEY = "service-key"
    USER_KEY = "user-key"


class FindingKind(StrEnum):
    """What the review flags."""

    ACCOUNT_ADMIN = "account-admin"
    NO_MEMBERSHIP = "no-membership"
    STALE_INVITATION = "stale-invitation"
    KEY_EXPIRING = "key-expiring"
    KEY_TOO_OLD = "key-too-old"
    SUBJECT_GONE = "binding-subject-gone"
    ROLE_GONE = "binding-role-gone"
    CREATOR_GONE = "key-creator-deleted"
    NOT_IN_IDP = "not-in-idp"


class Finding(BaseModel):
    """One thing a reviewer should look at twice."""

    kind: FindingKind
    subject: str = Field(description="Email, key name, or the id of something that is gone.")
    detail: str
    item_id: str | None = None


class ReviewItem(BaseModel):
    """One grant to keep or revoke. Holds ids and words, never a secret."""

    id: str = Field(description="Stable across runs: the kind and the grant's own id.")
    hash: str = Field(description="Binds a button to this review and this exact grant.")
    kind: ItemKind
    subject_email: str | None = Field(description="Whose access it is; they may not decide.")
    subject: str = Field(description="Who or what holds the grant, in words.")
    grant: str = Field(description="What is granted, in words.")
    space_id: str | None = None
    reviewers: list[str] = Field(description="Emails of who may decide, any one of them.")
    reviewed_by: str = Field(description="Which group reviews it, in words.")
    flags: list[FindingKind] = Field(default_factory=list)
    action: Action = Field(description="What Revoke does.")
    params: dict[str, Any] = Field(description="The revoking change's parameters (ids).")
    stage: int = 0


class Review(BaseModel):
    """The items and findings of one review."""

    review_id: str
    items: list[ReviewItem]
    findings: list[Finding]
    limits: list[str]

    def by_reviewer(self) -> dict[str, list[ReviewItem]]:
        """Reviewer email → their items, in item order."""
        grouped: dict[str, list[ReviewItem]] = defaultdict(list)
        for item in self.items:
            for reviewer in item.reviewers:
                grouped[reviewer].append(item)
        return dict(grouped)


# Stages of remediation: keys and bindings first, then accounts (deleting cascades anyway).
REVOKE_STAGE, DELETE_STAGE = range(2)


def item_id(kind: ItemKind, grant_id: str) -> str:
    """A short id of the grant, lowercase hex (run-input keys allow ``[a-z0-9-]`` only)."""
    return hashlib.sha256(f"{kind.value}|{grant_id}".encode()).hexdigest()[:20]


def item_hash(review_id: str, item: ReviewItem) -> str:
    """Hash over the review, the item and what it grants: a button for anything else is stale."""
    payload = "|".join(
        [review_id, item.id, item.kind.value, item.subject, item.grant, repr(sorted(item.params))]
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def build_review(
    review_id: str,
    inventory: Inventory,
    spec: AccessReviewSpec,
    active_emails: set[str] | None = None,
) -> Review:
    """Turn the inventory into review items and findings. Pure: no I/O.

    Args:
        review_id: The review's name.
        inventory: What the account has.
        spec: Thresholds.
        active_emails: The IdP/HR export, lower-cased; None when the spec gives none.
    """
    now = inventory.taken_at
    users = {u.id: u for u in inventory.users}
    spaces = {s.id: s for s in inventory.spaces}
    projects = {p.id: p for p in inventory.projects}
    bots = {k.bot_user_id for k in inventory.service_keys if k.bot_user_id}
    admins = sorted(u.email for u in inventory.users if _is_active_admin(u))
    active = {u.email for u in inventory.users if u.status == "ACTIVE"}
    findings: list[Finding] = []
    items: list[ReviewItem] = []

    def email_of(user_id: str) -> str | None:
        user = users.get(user_id)
        return user.email if user else None

    def reviewers_for(space_id: str | None, subject: str | None) -> tuple[list[str], str]:
        space = spaces.get(space_id or "")
        if space is not None:
            space_admins = sorted(
                e for e in (email_of(a) for a in space.admins) if e and e in active
            )
            if [e for e in space_admins if e != subject]:
                return space_admins, f"admins of space {space.name}"
        return admins, "account admins"

    bound: set[str] = set()
    for b in inventory.bindings:
        if b.user_id in bots:
            continue  # a service key's own binding: reviewed with the key
        bound.add(b.user_id)
        if b.resource_type == "SPACE":
            space = spaces.get(b.resource_id)
            where = f"space {space.name}" if space else f"space {b.resource_id}"
            space_id = b.resource_id
            kind = ItemKind.SPACE
        else:
            project = projects.get(b.resource_id)
            space = spaces.get(project.space_id) if project else None
            where = (
                f"project {space.name if space else '?'}/{project.name}"
                f"{' (restricted)' if project.restricted else ''}"
                if project
                else f"project {b.resource_id}"
            )
            space_id = project.space_id if project else None
            kind = ItemKind.PROJECT
        subject_email = email_of(b.user_id)
        reviewers, reviewed_by = reviewers_for(space_id, subject_email)
        item = _item(
            review_id,
            kind=kind,
            grant_id=b.id,
            subject_email=subject_email,
            subject=subject_email or f"deleted user {b.user_id}",
            grant=f"{b.role or f'deleted role {b.role_id}'} on {where}",
            space_id=space_id,
            reviewers=reviewers,
            reviewed_by=reviewed_by,
            action=Action.UNBIND_ROLE,
            params={"binding_id": b.id, "user_id": b.user_id},
            stage=REVOKE_STAGE,
        )
        if subject_email is None:
            findings.append(
                _flag(item, FindingKind.SUBJECT_GONE, b.user_id, f"{item.grant}: user is gone")
            )
        if b.role is None:
            findings.append(
                _flag(item, FindingKind.ROLE_GONE, item.subject, f"{item.grant}: role is gone")
            )
        items.append(item)

    for user in inventory.users:
        developer = ", developer" if user.is_developer else ""
        item = _item(
            review_id,
            kind=ItemKind.ACCOUNT,
            grant_id=user.id,
            subject_email=user.email,
            subject=user.email,
            grant=f"account {user.account_role} ({user.status.lower()}{developer})",
            space_id=None,
            reviewers=admins,
            reviewed_by="account admins",
            action=Action.DELETE_USER,
            params={"user_id": user.id, "email": user.email},
            stage=DELETE_STAGE,
        )
        if user.account_role == "ADMIN":
            findings.append(_flag(item, FindingKind.ACCOUNT_ADMIN, user.email, "account admin"))
        elif user.id not in bound:
            findings.append(
                _flag(
                    item,
                    FindingKind.NO_MEMBERSHIP,
                    user.email,
                    "no space or project binding (organization membership cannot be read)",
                )
            )
        age = user.invitation_age_days
        if age is not None and age > spec.invitation_max_age_days:
            findings.append(
                _flag(
                    item,
                    FindingKind.STALE_INVITATION,
                    user.email,
                    f"invited {age} days ago, never accepted ({user.status.lower()})",
                )
            )
        if active_emails is not None and user.email not in active_emails:
            findings.append(
                _flag(item, FindingKind.NOT_IN_IDP, user.email, "not in the IdP/HR export")
            )
        items.append(item)

    for key in inventory.service_keys:
        creator = email_of(key.created_by_user_id or "")
        where = ", ".join(spaces[s].name for s in key.space_ids if s in spaces) or "no space"
        item = _item(
            review_id,
            kind=ItemKind.SERVICE_KEY,
            grant_id=key.id,
            subject_email=creator,
            subject=f"service key {key.name}",
            grant=f"service key {key.name} ({key.redacted_key}) in {where}, created by "
            f"{creator or 'a deleted user'}",
            space_id=None,
            reviewers=admins,
            reviewed_by="account admins",
            action=Action.REVOKE_KEY,
            params={"api_key_id": key.id, "name": key.name, "key_type": "SERVICE"},
            stage=REVOKE_STAGE,
        )
        if creator is None and (key.created_by_user_id or "") not in bots:
            findings.append(
                _flag(item, FindingKind.CREATOR_GONE, key.name, "its creator was deleted")
            )
        findings.extend(_key_findings(item, key, now, spec))
        items.append(item)

    for key in inventory.admin_user_keys:
        owner = email_of(key.created_by_user_id or "") or "?"
        item = _item(
            review_id,
            kind=ItemKind.USER_KEY,
            grant_id=key.id,
            subject_email=owner,
            subject=owner,
            grant=f"user key {key.name} ({key.redacted_key}) of account admin {owner}",
            space_id=None,
            reviewers=admins,
            reviewed_by="account admins",
            action=Action.REVOKE_KEY,
            params={"api_key_id": key.id, "name": key.name, "key_type": "USER"},
            stage=REVOKE_STAGE,
        )
        findings.extend(_key_findings(item, key, now, spec))
        items.append(item)

    items.sort(key=lambda i: (i.kind.value, i.subject, i.grant, i.id))
    return Review(review_id=review_id, items=items, findings=findings, limits=inventory.limits)


def _is_active_admin(user: UserRecord) -> bool:
    return user.account_role == "ADMIN" and user.status == "ACTIVE"


def _item(review_id: str, *, kind: ItemKind, grant_id: str, **fields: Any) -> ReviewItem:
    item = ReviewItem(id=item_id(kind, grant_id), hash="", kind=kind, **fields)
    item.hash = item_hash(review_id, item)
    return item


def _flag(item: ReviewItem, kind: FindingKind, subject: str, detail: str) -> Finding:
    if kind not in item.flags:
        item.flags.append(kind)
    return Finding(kind=kind, subject=subject, detail=detail, item_id=item.id)


def _key_findings(
    item: ReviewItem, key: KeyRecord, now: datetime, spec: AccessReviewSpec
) -> list[Finding]:
    found: list[Finding] = []
    if key.expires_at is not None and key.expires_at <= now + timedelta(
        days=spec.key_expiring_within_days
    ):
        days = (key.expires_at - now).days
        detail = f"expired {-days} days ago" if days < 0 else f"expires in {days} days"
        found.append(_flag(item, FindingKind.KEY_EXPIRING, key.name, detail))
    secret_since = key.last_refreshed_at or key.created_at
    age = (now - secret_since).days
    if age > spec.key_max_age_days:
        found.append(
            _flag(
                item,
                FindingKind.KEY_TOO_OLD,
                key.name,
                f"secret {age} days old (policy {spec.key_max_age_days})",
            )
        )
    return found
