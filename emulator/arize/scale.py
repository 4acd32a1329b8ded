"""The ``scale`` seed: a big, deterministic account for access reviews and benchmarks.

Defaults: 5,000 people (a share invited long ago and never accepted, a few deleted), 20,000
role bindings of people split between spaces and projects, 300 spaces and 600 projects in 4
orgs, a dozen custom roles, a few restricted projects, 400 service keys made by 120 different
people (each key's bot holds one more SPACE binding) and 1,000 personal keys. The same
parameters give the same ids, names and links; ages are measured back from seeding time.

Rows go straight into the tables (no API calls, no audit entries) under the emulator's own
invariants: a SPACE binding is a space membership, one binding per (user, resource), a
deleted user holds nothing. A binding whose role or user was deleted cannot exist: deleting
a bound role is refused (409) and deleting a user removes their bindings, so none is seeded.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from emulator.arize.models import (
    ApiKey,
    KeySecret,
    Organization,
    OrgMember,
    Project,
    Restriction,
    Role,
    Space,
    SpaceMember,
    User,
)
from emulator.arize.permissions import ALL_PERMISSIONS
from emulator.arize.state import AccountState
from emulator.arize.store import INVITE_TTL, hash_key, predefined, redact

__all__ = ["ScaleSpec", "parse_scale_seed", "seed_scale"]

_DAY = timedelta(days=1)
_SPACE_ROLES = ("MEMBER", "MEMBER", "MEMBER", "MEMBER", "READ_ONLY", "READ_ONLY", "ADMIN")
_TEAMS = ("fraud", "search", "ads", "risk", "growth", "support", "pricing", "vision", "speech")


# How the default account's counts relate to its 5,000 people (for ``scale:users=N``).
_PER_PERSON = {
    "bindings": 4.0,
    "invited": 0.08,
    "deleted": 0.01,
    "service_keys": 0.08,
    "key_creators": 0.024,
    "user_keys": 0.2,
}


@dataclass(frozen=True)
class ScaleSpec:
    """The size of the ``scale`` account; ``seed`` picks the (deterministic) arrangement."""

    users: int = 5000
    bindings: int = 20000
    spaces: int = 300
    projects: int = 600
    orgs: int = 4
    custom_roles: int = 12
    restricted_projects: int = 20
    service_keys: int = 400
    key_creators: int = 120
    user_keys: int = 1000
    invited: int = 400
    deleted: int = 50
    space_share: float = 0.5
    seed: int = 7

    def __post_init__(self) -> None:
        problems = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "space_share" and value < 0:
                problems.append(f"{f.name} must be >= 0, got {value}")
        if not 0 <= self.space_share <= 1:
            problems.append(f"space_share must be between 0 and 1, got {self.space_share}")
        if min(self.spaces, self.orgs) < 1 and self.bindings:
            problems.append("spaces and orgs must be >= 1 when there are bindings")
        if self.invited + self.deleted > self.users:
            problems.append(
                f"invited ({self.invited}) + deleted ({self.deleted}) exceed users ({self.users})"
            )
        if self.key_creators > self.users - self.invited - self.deleted and self.service_keys:
            problems.append("key_creators must be at most the active users")
        # Pairs are drawn at random without repeats: keep each kind at most half-full.
        active = self.users - self.deleted
        on_spaces, on_projects = self.split()
        if on_spaces > active * self.spaces // 2 or on_projects > active * self.projects // 2:
            problems.append(
                f"bindings ({self.bindings}) too many for {active} people on "
                f"{self.spaces} spaces and {self.projects} projects; raise users, spaces or "
                "projects"
            )
        if problems:
            raise ValueError("scale seed: " + "; ".join(problems))

    def split(self) -> tuple[int, int]:
        """How many of ``bindings`` are on spaces and how many on projects."""
        on_spaces = round(self.bindings * self.space_share) if self.projects else self.bindings
        return on_spaces, self.bindings - on_spaces


def parse_scale_seed(seed: str) -> ScaleSpec:
    """``scale`` or ``scale:users=500,bindings=2000`` → the spec.

    With ``users`` given, the counts of bindings, invitations, deletions and keys not given
    follow it in the default proportions, so ``scale:users=500`` is a tenth of the default.

    Raises:
        ValueError: Not a scale seed, an unknown parameter, or a value that does not fit
            (the message names the parameter and the allowed ones).
    """
    name, _, params = seed.partition(":")
    if name != "scale":
        raise ValueError(f"not a scale seed: {seed!r}")
    known = {f.name: f.type for f in fields(ScaleSpec)}
    values: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in params.split(","))):
        key, eq, raw = part.partition("=")
        if not eq or key not in known:
            raise ValueError(
                f"scale seed parameter {part!r}: use name=value with a name among {sorted(known)}"
            )
        try:
            values[key] = float(raw) if key == "space_share" else int(raw)
        except ValueError:
            raise ValueError(f"scale seed parameter {key}: {raw!r} is not a number") from None
    if "users" in values:
        # Counts not given follow the number of people, in the default account's proportions.
        users = values["users"]
        for name, per_person in _PER_PERSON.items():
            values.setdefault(name, int(users * per_person))
    return ScaleSpec(**values)


def seed_scale(
    state: AccountState, spec: ScaleSpec, *, admin: User, first_org: Organization, now: datetime
) -> None:
    """Fill ``state`` (already holding predefined roles, the admin and ``first_org``).

    Args:
        state: The account.
        spec: How big, and which arrangement.
        admin: The account admin (keeps their own key and ADMIN role everywhere).
        first_org: The account's first org ("Acme"); more orgs are added after it.
        now: The reference time every age is measured from.
    """
    rng = random.Random(spec.seed)
    origin = now - timedelta(days=720)
    orgs = [first_org] + [
        _org(state, f"Division {chr(ord('B') + i)}", origin) for i in range(spec.orgs - 1)
    ]
    role_ids = {
        r.predefined_name: r.id
        for r in state.roles.values()
        if r.is_predefined and r.predefined_name
    }
    custom = [_custom_role(state, rng, i, origin + i * _DAY) for i in range(spec.custom_roles)]
    project_roles = [*custom, role_ids["READ_ONLY"], role_ids["MEMBER"]]

    spaces = [
        _space(state, orgs[i % len(orgs)], f"{_TEAMS[i % len(_TEAMS)]}-{i:04d}", origin, i)
        for i in range(spec.spaces)
    ]
    projects = [
        _project(state, spaces[i % len(spaces)], i, origin + timedelta(hours=i))
        for i in range(spec.projects if spaces else 0)
    ]
    for project in rng.sample(projects, min(spec.restricted_projects, len(projects))):
        _, n = state.next_id("ResourceRestriction")
        state.restrictions[project.id] = Restriction(
            resource_id=project.id, resource_type="PROJECT", created_at=project.created_at, n=n
        )

    people = [_person(state, rng, i, spec, origin, now) for i in range(spec.users)]
    active = [p for p in people if p.status != "DELETED"]
    for person in active:
        org = orgs[person.n % len(orgs)]
        _org_member(state, person, org, predefined("MEMBER"))

    # Role bindings: one per (person, resource); SPACE ones are memberships too.
    space_bindings, _ = spec.split()
    taken: set[tuple[str, str]] = set()
    while len(taken) < space_bindings:
        person, space = rng.choice(active), rng.choice(spaces)
        if (person.id, space.id) in taken:
            continue
        taken.add((person.id, space.id))
        name = rng.choice(_SPACE_ROLES)
        when = max(person.created_at, space.created_at) + rng.randint(1, 90) * _DAY
        _space_member(state, person, space, predefined(name), role_ids[name], min(when, now))
    while len(taken) < spec.bindings:
        person, project = rng.choice(active), rng.choice(projects)
        if (person.id, project.id) in taken:
            continue
        taken.add((person.id, project.id))
        when = max(person.created_at, project.created_at) + rng.randint(1, 90) * _DAY
        _binding(state, person, "PROJECT", project.id, rng.choice(project_roles), min(when, now))

    accepted = [p for p in active if p.status == "ACTIVE" and p.id != admin.id]
    creators = rng.sample(accepted, min(spec.key_creators, len(accepted))) if spaces else []
    for i in range(spec.service_keys if creators else 0):
        creator = creators[i % len(creators)]
        space = rng.choice(spaces)
        created = now - rng.randint(1, 700) * _DAY
        expiry = rng.choice((None, None, 30, 90, 365, -10))
        _service_key(
            state,
            rng,
            name=f"{space.name}-svc-{i:04d}",
            creator=creator,
            org=next(o for o in orgs if o.id == space.org_id),
            space=space,
            created=created,
            expires=None if expiry is None else now + expiry * _DAY,
            role_id=role_ids["MEMBER"],
        )
    for person in rng.sample(accepted, min(spec.user_keys, len(accepted))):
        created = now - rng.randint(1, 500) * _DAY
        _store_key(
            state,
            rng,
            f"{person.email.split('@')[0]}-laptop",
            "USER",
            person.id,
            person.id,
            created,
            None,
        )


def _org(state: AccountState, name: str, when: datetime) -> Organization:
    org_id, n = state.next_id("Organization")
    org = Organization(
        id=org_id, n=n, name=name, description=f"{name} organization", created_at=when
    )
    state.orgs[org_id] = org
    return org


def _custom_role(state: AccountState, rng: random.Random, i: int, when: datetime) -> str:
    role_id, n = state.next_id("Role")
    pool = sorted(ALL_PERMISSIONS)
    state.roles[role_id] = Role(
        id=role_id,
        n=n,
        name=f"Scale Role {i:02d}",
        description="Generated for the scale account.",
        permissions=sorted(rng.sample(pool, min(len(pool), rng.randint(3, 12)))),
        is_predefined=False,
        created_at=when,
        updated_at=when,
    )
    return role_id


def _space(state: AccountState, org: Organization, name: str, origin: datetime, i: int) -> Space:
    space_id, n = state.next_id("Space")
    space = Space(
        id=space_id,
        n=n,
        org_id=org.id,
        name=name,
        description=f"Generated space {i}",
        created_at=origin + timedelta(hours=i),
        is_private=i % 10 == 0,
    )
    state.spaces[space_id] = space
    return space


def _project(state: AccountState, space: Space, i: int, when: datetime) -> Project:
    project_id, n = state.next_id("Model")
    project = Project(
        id=project_id, n=n, space_id=space.id, name=f"{space.name}-model-{i:04d}", created_at=when
    )
    state.projects[project_id] = project
    return project


def _person(
    state: AccountState,
    rng: random.Random,
    i: int,
    spec: ScaleSpec,
    origin: datetime,
    now: datetime,
) -> User:
    user_id, n = state.next_id("User")
    created = origin + timedelta(minutes=i * 7)
    # The last `deleted` people are gone; the `invited` before them never accepted.
    if i >= spec.users - spec.deleted:
        status, invited_at = "DELETED", None
    elif i >= spec.users - spec.deleted - spec.invited:
        status = "INVITED"
        # Mostly long expired; a few still inside the invitation's lifetime.
        age = rng.randint(1, INVITE_TTL.days - 1) if i % 10 == 0 else rng.randint(60, 600)
        created = now - age * _DAY
        invited_at = created
    else:
        status, invited_at = "ACTIVE", None
    role = "ANNOTATOR" if i % 97 == 0 else "MEMBER"
    user = User(
        id=user_id,
        n=n,
        name=f"Person {i:05d}",
        email=f"person{i:05d}@scale.example",
        created_at=created,
        status=status,
        role=predefined(role),
        is_developer=role != "ANNOTATOR",
        invited_at=invited_at,
        deleted_at=now - 5 * _DAY if status == "DELETED" else None,
    )
    state.users[user_id] = user
    return user


def _org_member(state: AccountState, user: User, org: Organization, role: dict[str, Any]) -> None:
    m_id, n = state.next_id("OrganizationMember")
    state.org_members[m_id] = OrgMember(
        id=m_id, n=n, user_id=user.id, org_id=org.id, role=dict(role)
    )


def _space_member(
    state: AccountState,
    user: User,
    space: Space,
    role: dict[str, Any],
    role_id: str,
    when: datetime,
) -> None:
    m_id, n = state.next_id("SpaceMember")
    state.space_members[m_id] = SpaceMember(
        id=m_id, n=n, user_id=user.id, space_id=space.id, role=dict(role)
    )
    _binding(state, user, "SPACE", space.id, role_id, when)


def _binding(
    state: AccountState,
    user: User,
    resource_type: str,
    resource_id: str,
    role_id: str,
    when: datetime,
) -> None:
    state.add_binding(user.id, role_id, resource_type, resource_id, when=when)


def _store_key(
    state: AccountState,
    rng: random.Random,
    name: str,
    key_type: str,
    user_id: str,
    creator_id: str,
    created: datetime,
    expires: datetime | None,
) -> None:
    # Deterministic values: nobody is handed them, only their hashes are stored.
    raw = "ak-" + hashlib.sha256(f"{name}:{rng.random()}".encode()).hexdigest()[:40]
    key_id, n = state.next_id("ApiKey")
    state.api_keys[key_id] = ApiKey(
        id=key_id,
        n=n,
        name=name,
        description=f"Generated {key_type.lower()} key.",
        key_type=key_type,
        status="ACTIVE",
        redacted_key=redact(raw),
        created_at=created,
        created_by_user_id=creator_id,
        user_id=user_id,
        expires_at=expires,
    )
    state.secrets[hash_key(raw)] = KeySecret(key_id=key_id)


def _service_key(
    state: AccountState,
    rng: random.Random,
    *,
    name: str,
    creator: User,
    org: Organization,
    space: Space,
    created: datetime,
    expires: datetime | None,
    role_id: str,
) -> None:
    bot = state.add_user(name=name, email=None, role="MEMBER", when=created, is_bot=True)
    _org_member(state, bot, org, predefined("READ_ONLY"))
    _space_member(state, bot, space, predefined("MEMBER"), role_id, created)
    _store_key(state, rng, name, "SERVICE", bot.id, creator.id, created, expires)
