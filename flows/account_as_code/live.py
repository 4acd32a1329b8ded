"""The live account, read once in paged listings: what export writes and what plan diffs.

Each collection is one listing at the largest page size, the listings side by side: the
requests made are the paged-read bound (one request per page of each collection) and nothing
per item. Bot users of service keys are not people: their bindings belong to their keys.

People and role bindings are the two collections that grow with the account, and Arize cannot
list bindings per space (only per resource type, or per person: one listing per person would
break the paged-read bound). So they are held whole, but compactly: each page is turned into
small slotted records as it arrives, keeping only what export and plan read, with the ids
they share interned (a person's id is one string however many bindings name it).
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from arize_admin import (
    ApiKeyType,
    AsyncArizeAdmin,
    Organization,
    Project,
    ResourceRestriction,
    Role,
    RoleBinding,
    RoleBindingResourceType,
    ServiceApiKey,
    Space,
    User,
    UserStatus,
)
from flows.account_as_code.loader import predefined_name

T = TypeVar("T")
R = TypeVar("R")
PAGE = 100
"""The API's largest page: fewest requests per collection."""


@dataclass(slots=True, frozen=True)
class Person:
    """A person of the account, as export and plan read them."""

    id: str
    email: str
    """Lower case: how the files and the indexes name people."""
    name: str
    account_role: str
    status: UserStatus

    @classmethod
    def of(cls, user: User) -> Person:
        return cls(
            id=sys.intern(user.id), email=user.email.lower(), name=user.name,
            account_role=sys.intern(user.role.name), status=user.status,
        )


@dataclass(slots=True, frozen=True)
class Binding:
    """A role binding: who has which role on which space or project."""

    id: str
    user_id: str
    role_id: str
    resource_id: str

    @classmethod
    def of(cls, binding: RoleBinding) -> Binding:
        return cls(
            id=binding.id, user_id=sys.intern(binding.user_id),
            role_id=sys.intern(binding.role_id), resource_id=sys.intern(binding.resource_id),
        )


@dataclass
class LiveAccount:
    """Every collection the format covers, as listed, plus indexes by id and name."""

    organizations: list[Organization]
    users: list[Person]
    roles: list[Role]
    spaces: list[Space]
    projects: list[Project]
    space_bindings: list[Binding]
    project_bindings: list[Binding]
    restrictions: list[ResourceRestriction]
    service_keys: list[ServiceApiKey]
    requests: int = 0
    pages: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.org_by_id = {o.id: o for o in self.organizations}
        self.user_by_id = {u.id: u for u in self.users}
        self.user_by_email = {u.email: u for u in self.users}
        self.role_by_id = {r.id: r for r in self.roles}
        self.space_by_id = {s.id: s for s in self.spaces}
        self.project_by_id = {p.id: p for p in self.projects}
        self.restricted = {r.resource_id for r in self.restrictions}
        self.bot_ids = {k.bot_user.id for k in self.service_keys}
        # By the files' name: predefined roles under their canonical name, custom ones as named.
        self.role_ids: dict[str, str] = {}
        for role in self.roles:
            name = predefined_name(role.name) if role.is_predefined else role.name
            if name:
                self.role_ids.setdefault(name, role.id)

    def paged_read_bound(self) -> int:
        """Requests a complete read needs at least: one per page of each collection."""
        collections = (
            self.organizations, self.users, self.roles, self.spaces, self.projects,
            self.space_bindings, self.project_bindings, self.restrictions, self.service_keys,
        )
        return sum(max(1, math.ceil(len(c) / PAGE)) for c in collections)

    def role_name(self, role_id: str) -> str | None:
        """How the files name a role: predefined ones by their one canonical name."""
        role = self.role_by_id.get(role_id)
        if role is None:
            return None
        return (predefined_name(role.name) or role.name) if role.is_predefined else role.name

    def role_id(self, name: str) -> str | None:
        """The id of a predefined (any spelling) or custom role by the files' name."""
        return self.role_ids.get(predefined_name(name) or name)

    def space_name(self, space_id: str) -> str:
        space = self.space_by_id.get(space_id)
        return space.name if space is not None else space_id

    def org_name(self, org_id: str | None) -> str:
        org = self.org_by_id.get(org_id or "")
        return org.name if org is not None else (org_id or "")


async def read_live(client: AsyncArizeAdmin) -> LiveAccount:
    """List every collection once, concurrently, a page of ``PAGE`` at a time. Changes nothing."""
    before = client.request_count
    (
        orgs, users, roles, spaces, projects, space_bindings, project_bindings, restrictions,
        keys,
    ) = await asyncio.gather(
        client.organizations.list(limit=PAGE).to_list(),
        _compact(client.users.list(limit=PAGE), Person.of),
        client.roles.list(limit=PAGE).to_list(),
        client.spaces.list(limit=PAGE).to_list(),
        client.projects.list(limit=PAGE).to_list(),
        _compact(
            client.role_bindings.list(resource_type=RoleBindingResourceType.SPACE, limit=PAGE),
            Binding.of,
        ),
        _compact(
            client.role_bindings.list(resource_type=RoleBindingResourceType.PROJECT, limit=PAGE),
            Binding.of,
        ),
        client.resource_restrictions.list(limit=PAGE).to_list(),
        client.api_keys.list(key_type=ApiKeyType.SERVICE, limit=PAGE).to_list(),
    )
    return LiveAccount(
        organizations=orgs,
        users=users,
        roles=roles,
        spaces=spaces,
        projects=projects,
        space_bindings=space_bindings,
        project_bindings=project_bindings,
        restrictions=restrictions,
        service_keys=[k for k in keys if isinstance(k, ServiceApiKey)],
        requests=client.request_count - before,
    )


async def _compact(items: AsyncIterator[T], make: Callable[[T], R]) -> list[R]:
    """Each item as its compact record, as its page arrives: a page at a time is held whole."""
    return [make(item) async for item in items]
