"""Plan offboard-user: inventory everything a leaver has, then revoke their keys and delete them.

Arize's admin API lists a user's role bindings (space memberships show as SPACE bindings,
project access as PROJECT bindings), their API keys and the service keys they created, but not
their organization memberships: those are inferred from the spaces (and named as inferred).
Deleting the user removes all of it anyway (Arize cascades it to org and space
memberships, user keys and role bindings).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, Field

from arize_admin import (
    ApiKey,
    ApiKeyType,
    AsyncArizeAdmin,
    BadRequestError,
    NotFoundError,
    Project,
    RoleBindingResourceType,
    User,
    UserStatus,
)
from core.planning.changes import DeleteUser, RevokeKey, UnbindRole
from core.planning.context import PlanContext
from core.planning.plan import Plan, SpecError
from flows.offboard_user.spec import OffboardUserSpec
from flows.offboard_user.suspend import LeaveOrganization

RUNBOOK = "offboard-user"

PAGE = 100
# Up to this many bound projects are looked up one by one; more, and the projects are listed.
PROJECT_LOOKUPS = 10
T = TypeVar("T")

# Stages: keys stop working before the account goes, so a failed delete leaves no live key.
# Keeping the account (a reactivatable leaver), its bindings go, then its organizations.
REVOKE_KEYS, DELETE = range(2)
UNBIND, LEAVE_ORGS = 1, 2


class KeyRecord(BaseModel):
    """An API key as the audit record shows it: metadata and the redacted key, never a value."""

    id: str
    name: str
    key_type: str
    redacted_key: str
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    spaces: list[str] = Field(default_factory=list, description="Space names (service keys).")


class BindingRecord(BaseModel):
    """A role binding of the leaver, with names resolved for people."""

    id: str
    resource_type: str
    resource_id: str
    resource: str = Field(description="Space name, or space/project for a project.")
    role_id: str
    role: str
    role_predefined: bool = False
    space_id: str | None = Field(default=None, description="The space, or the project's space.")
    organization_id: str | None = Field(default=None, description="That space's organization.")
    organization: str | None = None


class Inventory(BaseModel):
    """Everything the leaver has in Arize, as far as the admin API can tell."""

    found: bool
    email: str | None = None
    user_id: str | None = None
    name: str | None = None
    status: str | None = None
    account_role: str | None = None
    created_at: datetime | None = None
    organizations: list[str] = Field(
        default_factory=list, description="Organizations of the spaces they are bound on."
    )
    spaces: list[str] = Field(
        default_factory=list, description="Spaces they are bound on (directly or via a project)."
    )
    bindings: list[BindingRecord] = Field(default_factory=list)
    user_keys: list[KeyRecord] = Field(default_factory=list)
    service_keys: list[KeyRecord] = Field(
        default_factory=list, description="Service keys they created (they act as bot users)."
    )
    limits: list[str] = Field(
        default_factory=list, description="What the admin API cannot tell, said plainly."
    )


class OffboardPlan(Plan):
    """An offboard plan, carrying the inventory it was computed from (not hashed)."""

    inventory: Inventory


async def plan_offboard_user(
    client: AsyncArizeAdmin, spec: OffboardUserSpec, context: PlanContext = PlanContext()
) -> OffboardPlan:
    """Inventory the leaver and list the changes that remove them. Changes nothing.

    A user that does not exist gives a plan with no changes and a note: offboarding someone
    already gone is done.

    Example:
        ```python
        @flow
        async def preview(client: AsyncArizeAdmin):
            spec = OffboardUserSpec(email="lee.leaver@acme.example", reason="left")
            plan = await plan_offboard_user(client, spec)
            print(plan.render_text())
        ```

    Raises:
        SpecError: the user is the last active account admin, or holds the credentials the
            runbook runs with.
    """
    before = client.request_count
    inventory = await take_inventory(client, spec)
    plan = build_plan(spec, inventory)
    if inventory.found:
        await _refuse_unsafe(client, spec, inventory)
    plan.api_calls = client.request_count - before
    return plan


async def _find_user(client: AsyncArizeAdmin, spec: OffboardUserSpec) -> User | None:
    if spec.user_id:
        try:
            user = await client.users.get(spec.user_id)
        except NotFoundError:
            return None
        except BadRequestError as ex:
            raise SpecError("user_id", spec.user_id, f"not an Arize user id ({ex.detail})") from ex
        if spec.email and user.email.lower() != spec.email.lower():
            raise SpecError(
                "user_id", spec.user_id, f"belongs to {user.email}, not {spec.email}; give one"
            )
        return user
    return await client.users.find_by_email(spec.email or "")


async def take_inventory(client: AsyncArizeAdmin, spec: OffboardUserSpec) -> Inventory:
    """Read everything the user has: account role, bindings, user keys, service keys created.

    Lists are read in pages of 100, the independent ones concurrently (the client caps what is
    in flight), so a leaver with hundreds of grants costs a few pages, not a request per grant.
    """
    user = await _find_user(client, spec)
    if user is None:
        return Inventory(
            found=False, email=spec.email.lower() if spec.email else None, user_id=spec.user_id
        )
    space_list, org_list, role_list, space_bindings, project_bindings, keys = (
        await asyncio.gather(
            _all(client.spaces.list(limit=PAGE)),
            _all(client.organizations.list(limit=PAGE)),
            _all(client.roles.list(limit=PAGE)),
            _all(
                client.role_bindings.list(
                    resource_type=RoleBindingResourceType.SPACE, user_id=user.id, limit=PAGE
                )
            ),
            _all(
                client.role_bindings.list(
                    resource_type=RoleBindingResourceType.PROJECT, user_id=user.id, limit=PAGE
                )
            ),
            _all(client.api_keys.list(key_type=ApiKeyType.USER, user_id=user.id, limit=PAGE)),
        )
    )
    spaces = {s.id: s for s in space_list}
    orgs = {o.id: o.name for o in org_list}
    roles = {r.id: r.name for r in role_list}
    predefined = {r.id for r in role_list if r.is_predefined}
    # Listed per space: a space-scoped list with a creator filter is what the API documents.
    per_space, projects = await asyncio.gather(
        asyncio.gather(
            *(
                _all(
                    client.api_keys.list(
                        key_type=ApiKeyType.SERVICE, space_id=space.id, user_id=user.id,
                        limit=PAGE,
                    )
                )
                for space in spaces.values()
            )
        ),
        _projects(client, [b.resource_id for b in project_bindings]),
    )

    bindings: list[BindingRecord] = []
    binding_space_ids: set[str] = set()
    for resource_type, listed in (
        (RoleBindingResourceType.SPACE, space_bindings),
        (RoleBindingResourceType.PROJECT, project_bindings),
    ):
        for b in listed:
            space_id = b.resource_id
            label = spaces[space_id].name if space_id in spaces else b.resource_id
            if resource_type is RoleBindingResourceType.PROJECT:
                project = projects.get(b.resource_id)
                space_id = project.space_id if project else ""
                space_name = spaces[space_id].name if space_id in spaces else "?"
                label = f"{space_name}/{project.name}" if project else b.resource_id
            binding_space_ids.add(space_id)
            org_id = spaces[space_id].organization_id if space_id in spaces else None
            bindings.append(
                BindingRecord(
                    id=b.id,
                    resource_type=resource_type.value,
                    resource_id=b.resource_id,
                    resource=label,
                    role_id=b.role_id,
                    role=roles.get(b.role_id, b.role_id),
                    role_predefined=b.role_id in predefined,
                    space_id=space_id or None,
                    organization_id=org_id,
                    organization=orgs.get(org_id or ""),
                )
            )

    user_keys = [_key_record(k) for k in keys]
    service_keys: dict[str, KeyRecord] = {}
    for space, space_keys in zip(spaces.values(), per_space, strict=True):
        for k in space_keys:
            record = service_keys.setdefault(k.id, _key_record(k))
            record.spaces.append(space.name)

    known = [spaces[s] for s in sorted(binding_space_ids) if s in spaces]
    return Inventory(
        found=True,
        email=user.email.lower(),
        user_id=user.id,
        name=user.name,
        status=user.status.value if isinstance(user.status, UserStatus) else str(user.status),
        account_role=getattr(user.role, "name", None) or str(user.role),
        created_at=user.created_at,
        organizations=sorted({orgs.get(s.organization_id or "", "?") for s in known}),
        spaces=sorted(s.name for s in known),
        bindings=bindings,
        user_keys=user_keys,
        service_keys=list(service_keys.values()),
        limits=[
            "organization memberships cannot be listed through the admin API; the "
            "organizations above are those of the spaces and projects they are bound on, and "
            "deleting the user removes every membership (cascade)",
        ],
    )


async def _all(pages: AsyncIterable[T]) -> list[T]:
    return [item async for item in pages]


async def _projects(client: AsyncArizeAdmin, project_ids: list[str]) -> dict[str, Project]:
    """The projects of the leaver's PROJECT bindings, by id.

    A few are looked up one by one (concurrently); past ``PROJECT_LOOKUPS`` one bulk list of
    the account's projects is fewer requests than a lookup per binding. A bound project the
    list missed (created meanwhile) is still looked up; a deleted one is left out.
    """
    wanted = list(dict.fromkeys(project_ids))
    found: dict[str, Project] = {}
    if len(wanted) > PROJECT_LOOKUPS:
        bound = set(wanted)
        found = {p.id: p async for p in client.projects.list(limit=PAGE) if p.id in bound}
    missing = [p for p in wanted if p not in found]
    for project in await asyncio.gather(*(_project(client, p) for p in missing)):
        if project is not None:
            found[project.id] = project
    return found


async def _project(client: AsyncArizeAdmin, project_id: str) -> Project | None:
    try:
        return await client.projects.get(project_id)
    except NotFoundError:
        return None


def _key_record(key: ApiKey) -> KeyRecord:
    return KeyRecord(
        id=key.id,
        name=key.name,
        key_type=key.key_type,
        redacted_key=key.redacted_key,
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
    )


def build_plan(spec: OffboardUserSpec, inventory: Inventory) -> OffboardPlan:
    """The changes that remove the inventoried user; pure, so replans compare exactly."""
    subject = (inventory.email or spec.email or spec.user_id or "").lower()
    plan = OffboardPlan(runbook=RUNBOOK, subject=subject or "unknown", inventory=inventory)
    if not inventory.found:
        who = spec.email or spec.user_id
        plan.notes.append(
            f"no Arize user {who}: already offboarded or never existed; nothing to do"
        )
        return plan
    email = inventory.email
    for key in inventory.user_keys:
        plan.changes.append(
            RevokeKey(
                target=f"user key {key.name} ({key.redacted_key}) of {email}",
                api_key_id=key.id,
                name=key.name,
                key_type="USER",
                destructive=True,
                stage=REVOKE_KEYS,
                reason="personal key of the leaver",
            )
        )
    for key in inventory.service_keys:
        where = ", ".join(key.spaces)
        if spec.revoke_service_keys:
            plan.changes.append(
                RevokeKey(
                    target=f"service key {key.name} ({key.redacted_key}) in {where}",
                    api_key_id=key.id,
                    name=key.name,
                    key_type="SERVICE",
                    destructive=True,
                    stage=REVOKE_KEYS,
                    reason="created by the leaver; revoke_service_keys is on",
                )
            )
        else:
            plan.notes.append(
                f"service key {key.name} ({key.redacted_key}) in {where} was created by "
                f"{email}; it acts as its own bot user and keeps working; kept "
                "(set revoke_service_keys to revoke it)"
            )
    if spec.keep_account:
        _plan_emptying(plan, inventory)
        return plan
    for binding in inventory.bindings:
        plan.notes.append(
            f"{binding.resource_type} binding {binding.role} on {binding.resource}: "
            "removed with the user"
        )
    plan.notes.extend(inventory.limits)
    plan.changes.append(
        DeleteUser(
            target=email,
            user_id=inventory.user_id,
            email=email,
            destructive=True,
            stage=DELETE,
            reason=f"account {inventory.account_role}, {inventory.status}",
        )
    )
    return plan


def _plan_emptying(plan: OffboardPlan, inventory: Inventory) -> None:
    """Keep the account, take everything else: each binding, then each organization (which
    also takes the space memberships a binding does not show). The re-plan that verifies finds
    no binding and no key, so it plans nothing: converged."""
    email = inventory.email or ""
    user_id = inventory.user_id or ""
    for binding in inventory.bindings:
        plan.changes.append(
            UnbindRole(
                target=f"{binding.role} on {binding.resource} ({binding.resource_type}) of {email}",
                binding_id=binding.id,
                user_id=user_id,
                resource_id=binding.resource_id,
                destructive=True,
                stage=UNBIND,
                reason="account kept for a reactivation; access removed",
            )
        )
    orgs = {b.organization_id: b.organization for b in inventory.bindings if b.organization_id}
    for org_id, name in sorted(orgs.items()):
        plan.changes.append(
            LeaveOrganization(
                target=f"{email} in {name or org_id}",
                org_id=org_id,
                user_id=user_id,
                destructive=True,
                stage=LEAVE_ORGS,
                reason="leaves the organization and every space in it",
            )
        )
    plan.notes.append(
        f"the account of {email} is kept, empty, so the identity provider can reactivate it "
        "(Arize cannot re-invite a deleted user); what they had is in the access snapshot"
    )
    plan.notes.extend(inventory.limits)


async def _refuse_unsafe(
    client: AsyncArizeAdmin, spec: OffboardUserSpec, inventory: Inventory
) -> None:
    """Refuse, before anything changes, what would lock the account or the runbook out."""
    field, value = ("email", spec.email) if spec.email else ("user_id", spec.user_id)
    if inventory.account_role == "ADMIN":
        other_admins = [
            u
            async for u in client.users.list(status=[UserStatus.ACTIVE])
            if u.id != inventory.user_id and getattr(u.role, "name", None) == "ADMIN"
        ]
        if not other_admins:
            raise SpecError(
                field,
                value,
                "is the last active account admin; make someone else an account admin first",
            )
    # The caller's own user keys: if they belong to the leaver, revoking them stops this run.
    async for key in client.api_keys.list(key_type=ApiKeyType.USER):
        if key.created_by_user_id == inventory.user_id:
            raise SpecError(
                field,
                value,
                "is the user whose API key this runbook runs with; run it with another "
                "admin's credentials",
            )
        break
