"""Who may decide an approval, and when the votes decide it: the one rule every path obeys.

The Slack click handler, ``arize-runbooks approve|reject``, the Prefect UI's resume form and the
flow itself all ask this module; the flow asks last, when it resumes, and applies nothing unless
the durable votes satisfy the policy. Pure functions: callers resolve Slack group members and
read votes, so the rule is the same with or without Slack and is unit-testable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class VoteChannel(StrEnum):
    """Where a vote was cast."""

    SLACK = "slack"
    CLI = "cli"
    UI = "ui"


class ApprovalPolicy(BaseModel):
    """Who may approve destructive runbook steps, how many must, and through which paths.

    An approver is named by e-mail, by Slack user id, or through a Slack user group. The
    subject of a run (the person being offboarded, the one receiving access) may never decide
    it; the requester may not either, unless ``allow_requester``.
    """

    approver_emails: list[str] = Field(
        default_factory=list, description="E-mails of people who may approve."
    )
    approver_slack_ids: list[str] = Field(
        default_factory=list,
        title="Approver Slack IDs",
        description="Slack user ids of people who may approve.",
    )
    approver_group: str | None = Field(
        default=None,
        description="Slack user group (id like S0123 or handle) whose members may approve.",
    )
    quorum: int = Field(default=1, ge=1, description="Distinct approvals a request needs.")
    allow_requester: bool = Field(
        default=False, description="Whether the person who asked for the run may approve it."
    )
    timeout_seconds: int = Field(
        default=3600, ge=10, description="How long a gate waits; no decision means rejected."
    )
    hold_seconds: int = Field(
        default=300,
        ge=0,
        description="Deployment runs only: how long the gate first waits in its own process "
        "(a blocking pause, answered in about a second) before it suspends, which frees the "
        "worker but costs a new flow-run process (several seconds) once answered. 0 suspends "
        "at once. Each wait of the gate (also after an answer that did not decide) holds up "
        "to this long; local runs always wait in-process for the whole timeout.",
    )
    cli_votes: bool = Field(
        default=True,
        title="CLI votes",
        description="Whether `arize-runbooks approve|reject --as EMAIL` answers count as votes.",
    )
    ui_votes: bool | None = Field(
        default=None,
        title="UI votes",
        description="Whether Prefect UI resume-form answers count as votes; unset: only when "
        "Slack approvals are not configured.",
    )
    break_glass: list[str] = Field(
        default_factory=list,
        description="E-mails of people who may approve alone with --break-glass (overrides the "
        "quorum and a leaver-storm hold, never the subject rule).",
    )
    approvers_by_space: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per space name, the e-mails or Slack ids who approve requests about that "
        "space (e.g. temporary access); they replace the general approvers there.",
    )
    storm_runs_per_hour: int = Field(
        default=5,
        ge=1,
        description="Destructive runs started by webhooks per hour before further ones are held "
        "for break-glass approval.",
    )
    storm_limit: str = Field(
        default="arize-runbooks-leaver-storm",
        description="Prefect global concurrency limit (slot decay = the hourly rate) that counts "
        "webhook-started destructive runs; created on first use.",
    )
    storm_max_user_deletions: int = Field(
        default=3, ge=1, description="A plan deleting more users than this is held."
    )
    storm_max_key_revocations: int = Field(
        default=20, ge=1, description="A plan revoking more keys than this is held."
    )
    gate_restores: bool = Field(
        default=True,
        description="Giving a reactivated person's access back (restore-user) waits at the "
        "gate like a destructive change. A run's spec can ask for the gate when this is off, "
        "never skip it when on.",
    )

    def for_space(self, space: str | None) -> ApprovalPolicy:
        """This policy for a request about ``space``: its own approvers if the policy names any.

        Slack ids (``U…``) and e-mails are told apart by the ``@``; the approver group no longer
        applies there, since the space's approvers replace the general ones.
        """
        named = self.approvers_by_space.get(space or "")
        if not named:
            return self
        return self.model_copy(
            update={
                "approver_emails": [n for n in named if "@" in n],
                "approver_slack_ids": [n for n in named if "@" not in n],
                "approver_group": None,
            }
        )

    def allows(self, channel: VoteChannel, *, slack_configured: bool) -> bool:
        """Whether votes cast through ``channel`` count at all."""
        if channel is VoteChannel.CLI:
            return self.cli_votes
        if channel is VoteChannel.UI:
            return self.ui_votes if self.ui_votes is not None else not slack_configured
        return slack_configured


def who_may_approve(policy: ApprovalPolicy, *, held: bool = False) -> str:
    """Who may approve under ``policy``, in words, for forms, run pages and messages.

    Args:
        policy: The approval policy the request is judged by.
        held: Whether the gate is held for break-glass approval (leaver storm).

    Returns:
        E.g. ``"2 of: a@x.example, members of Slack group arize-approvers"``.
    """
    if held:
        named = ", ".join(policy.break_glass) or "nobody (the policy names no one)"
        return f"break-glass only (`arize-runbooks approve --break-glass`), by: {named}"
    names = [*policy.approver_emails, *(f"Slack user {i}" for i in policy.approver_slack_ids)]
    if policy.approver_group:
        names.append(f"members of Slack group {policy.approver_group}")
    listed = ", ".join(names) or "nobody (the policy names no approver)"
    need = f"{policy.quorum} different people" if policy.quorum > 1 else "one person"
    rule = "" if policy.allow_requester else "; not the requester"
    return f"{need} of: {listed} (never the people the run concerns{rule})"


def ui_votes_in_words(policy: ApprovalPolicy, *, slack_configured: bool) -> str:
    """Whether a Prefect UI answer counts as a vote under ``policy``, and why."""
    if policy.allows(VoteChannel.UI, slack_configured=slack_configured):
        return "Prefect UI answers count as votes"
    why = (
        "the policy sets ui_votes=false"
        if policy.ui_votes is False
        else "Slack approvals are configured and the policy does not set ui_votes"
    )
    return f"Prefect UI answers do NOT count as votes ({why}): approve in Slack or with the CLI"


class Voter(BaseModel):
    """Who cast a vote, as far as the path it came through can vouch."""

    channel: VoteChannel
    id: str = Field(description="Slack user id for Slack votes, else the e-mail.")
    email: str | None = None
    name: str | None = None

    @property
    def key(self) -> str:
        """The one name a vote is stored and counted under: the e-mail, lower-cased (no other
        folding: ``jo.ann@`` and ``jo_ann@`` are two people), else the id."""
        return (self.email or self.id).strip().lower()

    def identities(self) -> set[str]:
        """Every name this voter is known by, lower-cased, for allow and block lists."""
        return {i.lower() for i in (self.id, self.email) if i}

    def describe(self) -> str:
        """``name (email) via channel`` for messages and reports."""
        who = self.name or self.email or self.id
        extra = self.email if self.email and self.email != who else None
        return f"{who} ({extra}) via {self.channel.value}" if extra else f"{who} via {self.channel}"


class Vote(BaseModel):
    """One person's answer on one gate, stored as run input ``vote-<gate>-<voter>``."""

    voter: Voter
    approved: bool
    plan_hash: str = Field(description="The plan the voter saw; a vote for another plan is void.")
    at: datetime
    break_glass: bool = False
    reason: str = ""
    signature: str | None = Field(
        default=None, description="The webhook service's HMAC over a Slack vote."
    )


@dataclass(frozen=True)
class Subjects:
    """The people a run concerns: ``protected`` may never decide; the requester usually not."""

    protected: frozenset[str]
    requested_by: str | None = None

    @classmethod
    def of(cls, protected: Iterable[str], requested_by: str | None) -> Subjects:
        """Normalise ``protected`` and ``requested_by`` (lower-case, blanks dropped)."""
        return cls(
            frozenset(p.lower() for p in protected if p),
            requested_by.lower() if requested_by else None,
        )


@dataclass(frozen=True)
class Directory:
    """Who the policy's approvers are, resolved: ids and e-mails, lower-cased.

    ``permitted`` holds the policy's e-mails and Slack ids plus the approver group's members
    (their ids and e-mails); the caller resolves the group through Slack.
    """

    permitted: frozenset[str]
    slack_configured: bool

    @classmethod
    def of(
        cls, policy: ApprovalPolicy, group_members: Iterable[str] = (), *, slack_configured: bool
    ) -> Directory:
        """The directory for ``policy`` given the group's members (ids and/or e-mails)."""
        names = [*policy.approver_emails, *policy.approver_slack_ids, *group_members]
        return cls(frozenset(n.lower() for n in names if n), slack_configured)


def refusal(
    policy: ApprovalPolicy,
    voter: Voter,
    subjects: Subjects,
    directory: Directory,
    *,
    break_glass: bool = False,
) -> str | None:
    """Why ``voter`` may not decide this gate, or ``None`` when they may.

    The subject rule comes first and nothing overrides it; then the requester rule; then the
    channel; then whether the voter is a permitted approver (or a named break-glass approver).
    """
    names = voter.identities()
    if names & subjects.protected:
        return f"{voter.describe()} may not decide a run that concerns them"
    if subjects.requested_by in names and not policy.allow_requester:
        return f"{voter.describe()} asked for this run and may not decide it"
    if break_glass:
        if voter.channel is not VoteChannel.CLI:
            return "break-glass is allowed only from the CLI"
        named = {e.lower() for e in policy.break_glass}
        if not names & named:
            return f"{voter.describe()} is not named for break-glass in the policy"
        return None
    if not policy.allows(voter.channel, slack_configured=directory.slack_configured):
        channel = voter.channel.value
        return f"{voter.describe()}: answers via {channel} are not allowed by the policy"
    if not names & directory.permitted:
        return f"{voter.describe()} is not an approver under the policy"
    return None


def held_refusal(held: str | None, *, approved: bool, break_glass: bool = False) -> str | None:
    """Why an answer on a gate held for break-glass (leaver storm) cannot count, or ``None``.

    Only a break-glass approval releases a held gate, so an ordinary approval there would be a
    vote that counts for nothing; every path refuses it before storing it. A rejection counts.
    """
    if held and approved and not break_glass:
        return (
            f"the run is held for break-glass approval ({held}); an ordinary approval cannot "
            "release it"
        )
    return None


class Outcome(StrEnum):
    """What the votes on a gate add up to."""

    APPROVED = "approved"
    REJECTED = "rejected"
    PENDING = "pending"


@dataclass
class Verdict:
    """The votes of one gate judged against the policy."""

    outcome: Outcome
    approvers: list[Voter] = field(default_factory=list)
    rejected_by: Voter | None = None
    break_glass: Vote | None = None
    refused: list[str] = field(default_factory=list)
    needed: int = 1

    @property
    def decided(self) -> bool:
        """Whether the gate is decided either way."""
        return self.outcome is not Outcome.PENDING

    def summary(self) -> str:
        """One line: who decided, or how many approvals are still missing."""
        if self.outcome is Outcome.REJECTED and self.rejected_by is not None:
            return f"rejected by {self.rejected_by.describe()}"
        if self.break_glass is not None:
            return (
                f"BREAK-GLASS approval by {self.break_glass.voter.describe()}: "
                f"{self.break_glass.reason}"
            )
        names = ", ".join(v.describe() for v in self.approvers)
        if self.outcome is Outcome.APPROVED:
            return f"approved by {names}"
        count = f"{len(self.approvers)} of {self.needed} approvals"
        return f"{count} ({names})" if names else count


def evaluate(
    policy: ApprovalPolicy,
    votes: Iterable[Vote],
    subjects: Subjects,
    directory: Directory,
    *,
    plan_hash: str,
    held: bool = False,
    authentic: set[int] | None = None,
) -> Verdict:
    """Judge the durable votes of one gate.

    A vote counts only when its voter may decide (see :func:`refusal`), it is for
    ``plan_hash``, and it is authentic (``authentic`` holds the indexes of votes whose
    signature checked out or that need none). One permitted rejection rejects. A held gate
    (leaver storm) is approved only by break-glass; otherwise ``quorum`` distinct permitted
    approvers approve.

    Returns:
        The verdict, with every void vote explained in ``refused``.
    """
    verdict = Verdict(Outcome.PENDING, needed=policy.quorum)
    seen: set[str] = set()
    for index, vote in enumerate(votes):
        if authentic is not None and index not in authentic:
            verdict.refused.append(f"vote by {vote.voter.describe()} is not authentic; ignored")
            continue
        if vote.plan_hash != plan_hash:
            verdict.refused.append(
                f"vote by {vote.voter.describe()} was for plan {vote.plan_hash[:12]}, "
                f"not {plan_hash[:12]}; ignored"
            )
            continue
        why = refusal(policy, vote.voter, subjects, directory, break_glass=vote.break_glass)
        if why is not None:
            verdict.refused.append(why)
            continue
        if not vote.approved:
            verdict.outcome, verdict.rejected_by = Outcome.REJECTED, vote.voter
            return verdict
        if vote.break_glass:
            verdict.break_glass = vote
            continue
        key = vote.voter.key
        if key not in seen:
            seen.add(key)
            verdict.approvers.append(vote.voter)
    if verdict.break_glass is not None or (not held and len(verdict.approvers) >= policy.quorum):
        verdict.outcome = Outcome.APPROVED
    return verdict
