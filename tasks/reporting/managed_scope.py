"""What account-as-code manages, as its last run published it, and the note a report adds.

Workers that run ``onboard-team`` and friends need not have the declared directory. So each
``apply-account`` and ``detect-drift`` run publishes the scope its files manage (the spaces
with their ids and projects, the custom roles, the ownership mode of each kind, and where the
files come from) to one Prefect block, and every runbook's report (``write_report``) compares
its plan's changes against it. A change to a managed resource gets a note, so the next
``detect-drift`` surprises nobody.

Only the latest published scope is kept: one account, one declared directory. The comparison
reads the block once per report; without a published scope (account as code not in use) a
report has no such note and costs one read that finds nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from prefect import get_client
from prefect.blocks.core import Block
from prefect.exceptions import ObjectNotFound
from pydantic import BaseModel, Field

from core.planning.changes import Change
from core.planning.plan import Plan

BLOCK_NAME = "account-managed-scope"

# The kind of the files an action changes (the ownership modes' names). Actions not listed
# (inviting or deleting a person, SAML) touch nothing the files scope to a space. A binding's
# change (bind, rebind, unbind) is a space member's or a project binding's, by what it is on.
KIND_OF_ACTION = {
    "set-space-role": "space_members",
    "restrict-project": "restrictions",
    "unrestrict-project": "restrictions",
    "create-service-key": "service_keys",
    "revoke-key": "service_keys",
    "rotate-key": "service_keys",
    "replace-key": "service_keys",
    "create-role": "roles",
    "update-role": "roles",
    "delete-role": "roles",
    "rename-role": "roles",
    "create-space": "spaces",
    "update-space": "spaces",
}
ROLE_KINDS = {"roles"}
BINDING_ACTIONS = {"bind-role", "rebind-role", "unbind-role"}


class ManagedSpace(BaseModel):
    """A space the files manage: its name, id (once it exists) and its projects' ids."""

    name: str
    organization: str
    id: str | None = None
    project_ids: list[str] = Field(default_factory=list)


class ManagedScope(BaseModel):
    """What the declared files manage, without any of their content (no people, no keys)."""

    source: str = Field(description="Where the files are: a path, or a git URL and ref.")
    publisher: str = Field(description="The runbook that applies the files; its own reports "
                           "carry no note.")
    ownership: dict[str, str] = Field(description="Kind → additive or authoritative.")
    spaces: list[ManagedSpace] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list, description="Declared custom roles' names.")
    role_ids: list[str] = Field(default_factory=list)
    published_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def resource_of(self, change: Change) -> str | None:
        """The managed resource ``change`` touches, in words (``space fraud-detection``)."""
        fields = change.model_dump(mode="json")
        if KIND_OF_ACTION.get(str(change.action)) in ROLE_KINDS:
            if fields.get("name") in self.roles or fields.get("role_id") in self.role_ids:
                return f"custom role {fields.get('name') or change.target}"
            return None
        by_name = {s.name: s for s in self.spaces}
        by_id = {i: s for s in self.spaces for i in (s.id, *s.project_ids) if i}
        found = by_name.get(fields.get("space") or "")
        for id_field in ("space_id", "resource_id", "project_id"):
            found = found or by_id.get(fields.get(id_field) or "")
        for org in fields.get("organizations") or []:  # a replaced key's space assignments
            for space in org.get("spaces") or []:
                found = found or by_id.get(space.get("space_id") or "")
        return f"space {found.name}" if found is not None else None

    def _kind(self, change: Change) -> str:
        kind = KIND_OF_ACTION.get(str(change.action))
        if kind is not None:
            return kind
        if str(change.action) in BINDING_ACTIONS:
            on = getattr(change, "resource_id", None)
            on_project = getattr(change, "resource_type", "") == "PROJECT" or any(
                on in s.project_ids for s in self.spaces
            )
            return "project_bindings" if on_project else "space_members"
        return str(change.action)

    def notes(self, plan: Plan, *, applied: bool) -> list[str]:
        """One note per managed resource the plan changes (none for the publisher's own)."""
        if plan.runbook == self.publisher:
            return []
        touched: dict[str, set[str]] = defaultdict(set)
        for change in plan.changes:
            resource = self.resource_of(change)
            if resource is not None:
                touched[resource].add(self._kind(change))
        verb = "now differ" if applied else "would differ"
        notes = []
        for resource, kinds in sorted(touched.items()):
            modes = ", ".join(f"{k.replace('_', ' ')}: {self.ownership.get(k, 'no mode')}"
                              for k in sorted(kinds))
            authoritative = any(self.ownership.get(k) == "authoritative" for k in kinds)
            then = (
                "the next detect-drift reports it (Adopt patches the files; Revert undoes it)"
                if authoritative or "spaces" in kinds
                else "the next detect-drift reports it where this changed something the files "
                "declare (additive: what they do not declare is left alone)"
            )
            notes.append(
                f"this {resource} is managed in account-as-code ({self.source}; {modes}): the "
                f"files {verb}; {then}"
            )
        return notes


class ManagedScopeBlock(Block):
    """The published scope; one document, ``account-managed-scope``, replaced on each publish."""

    _block_type_name = "Account managed scope"
    _block_type_slug = "account-managed-scope"
    _description = "What account-as-code manages, for every runbook's report (no secrets)."

    scope: ManagedScope


async def publish_scope(scope: ManagedScope) -> None:
    """Make ``scope`` the one every later report compares against."""
    await ManagedScopeBlock(scope=scope).asave(BLOCK_NAME, overwrite=True)


async def published_scope() -> ManagedScope | None:
    """The last published scope; ``None`` when account as code has never published one."""
    try:
        block = await ManagedScopeBlock.aload(BLOCK_NAME)
    except (ValueError, ObjectNotFound):
        return None
    return block.scope


async def managed_notes(plan: Plan, *, applied: bool) -> list[str]:
    """The report's notes on managed resources ``plan`` changes (see :class:`ManagedScope`)."""
    if not plan.changes:
        return []
    scope = await published_scope()
    return scope.notes(plan, applied=applied) if scope is not None else []


async def forget_scope() -> None:
    """Stop the notes: account as code no longer manages this account (or a test is done)."""
    try:
        block = await ManagedScopeBlock.aload(BLOCK_NAME)
    except (ValueError, ObjectNotFound):
        return
    async with get_client() as client:
        await client.delete_block_document(block._block_document_id)
