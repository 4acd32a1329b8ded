"""Seed data: ``demo`` (the account the demo and the runbook tests use), ``empty``, and
``scale`` / ``scale:users=…,bindings=…`` (a big generated account, see scale.py).

Names are part of the interface (tests/emulator/test_seed.py pins them): org "Acme"; spaces
"ml-platform", "fraud-detection", "search-ranking"; five projects; four people; custom roles
"Project Viewer" and "Space Editor"; three service keys of different ages and expiries.
Seeding writes no audit-log entries: nobody called the API.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from emulator.arize.models import Organization, Project, Role, RoleBinding, Space, User, utcnow
from emulator.arize.scale import parse_scale_seed, seed_scale
from emulator.arize.state import AccountState
from emulator.arize.store import new_raw_key, predefined

__all__ = ["ADMIN_EMAIL", "SEEDS", "check_seed", "seed_account"]

ADMIN_EMAIL = "admin@acme.example"
SEEDS = ("demo", "empty", "scale")


def check_seed(seed: str) -> str:
    """Return ``seed`` if it names a seed, else raise ``ValueError`` saying what would.

    Scale seeds take parameters: ``scale:users=500,bindings=2000`` (see ``ScaleSpec``).
    """
    if seed in SEEDS:
        return seed
    if seed.startswith("scale:"):
        parse_scale_seed(seed)
        return seed
    raise ValueError(
        f"unknown seed {seed!r}; expected one of {SEEDS} or 'scale:users=N,bindings=M'"
    )

PROJECT_VIEWER_PERMISSIONS = [
    "PROJECT_READ",
    "PROJECT_SPAN_READ",
    "PROJECT_EVAL_TASK_READ",
    "ML_MODEL_READ",
    "MONITOR_READ",
    "DASHBOARD_READ",
    "CUSTOM_METRIC_READ",
]
SPACE_EDITOR_PERMISSIONS = [
    "SPACE_READ",
    "SPACE_UPDATE",
    "PROJECT_CREATE",
    "PROJECT_READ",
    "PROJECT_UPDATE",
    "PROJECT_SPAN_READ",
    "DATASET_CREATE",
    "DATASET_READ",
    "DATASET_UPDATE",
    "MONITOR_CREATE",
    "MONITOR_READ",
    "MONITOR_UPDATE",
    "DASHBOARD_CREATE",
    "DASHBOARD_READ",
    "DASHBOARD_UPDATE",
]


def _user(state: AccountState, name: str, email: str, role: str, when: datetime) -> User:
    return state.add_user(name=name, email=email, role=role, when=when)


def _org(state: AccountState, name: str, when: datetime) -> Organization:
    org_id, n = state.next_id("Organization")
    org = Organization(
        id=org_id, n=n, name=name, description=f"{name} organization", created_at=when
    )
    state.orgs[org_id] = org
    return org


def _space(
    state: AccountState, org: Organization, name: str, description: str, when: datetime
) -> Space:
    space_id, n = state.next_id("Space")
    space = Space(
        id=space_id, n=n, org_id=org.id, name=name, description=description, created_at=when
    )
    state.spaces[space_id] = space
    return space


def _project(state: AccountState, space: Space, name: str, when: datetime) -> Project:
    project_id, n = state.next_id("Model")
    project = Project(id=project_id, n=n, space_id=space.id, name=name, created_at=when)
    state.projects[project_id] = project
    return project


def _custom_role(
    state: AccountState, name: str, description: str, permissions: list[str], when: datetime
) -> str:
    role_id, n = state.next_id("Role")
    state.roles[role_id] = Role(
        id=role_id,
        n=n,
        name=name,
        description=description,
        permissions=sorted(permissions),
        is_predefined=False,
        created_at=when,
        updated_at=when,
    )
    return role_id


def seed_account(state: AccountState, seed: str, admin_key: str) -> User:
    """Fill an empty account with ``seed`` data.

    Args:
        state: A fresh account.
        seed: ``"demo"``, ``"empty"`` (the account admin and org "Acme" only) or a scale
            seed (``"scale"``, ``"scale:users=500,bindings=2000"``).
        admin_key: The raw value of the account admin's user API key.

    Returns:
        The account admin user.

    Raises:
        ValueError: Unknown seed name or scale parameter.
    """
    check_seed(seed)
    now = utcnow()
    base = now - timedelta(days=200)
    state.seed_predefined_roles(base)
    admin = _user(state, "Avery Admin", ADMIN_EMAIL, "ADMIN", base)
    state._store_key(
        name="admin",
        description="Account admin key (seeded).",
        key_type="USER",
        user_id=admin.id,
        created_by=admin.id,
        expires_at=None,
        raw=admin_key,
        created_at=base,
    )
    acme = _org(state, "Acme", base)
    state._upsert_org_member(admin, acme, predefined("ADMIN"))
    if seed == "empty":
        return admin
    if seed.startswith("scale"):
        seed_scale(state, parse_scale_seed(seed), admin=admin, first_org=acme, now=now)
        return admin

    day = timedelta(days=1)
    dana = _user(state, "Dana Data", "dana@acme.example", "MEMBER", base + day)
    lee = _user(state, "Lee Leaver", "lee.leaver@acme.example", "MEMBER", base + 2 * day)
    sam = _user(state, "Sam Scientist", "sam@acme.example", "MEMBER", base + 3 * day)
    for person in (dana, lee, sam):
        state._upsert_org_member(person, acme, predefined("MEMBER"))

    ml = _space(state, acme, "ml-platform", "Shared ML platform", base + 4 * day)
    fraud = _space(state, acme, "fraud-detection", "Fraud detection models", base + 4 * day)
    search = _space(state, acme, "search-ranking", "Search ranking models", base + 4 * day)
    fraud_model = _project(state, fraud, "fraud-model", base + 5 * day)
    _project(state, fraud, "payments-risk", base + 5 * day)
    _project(state, search, "ranking-v2", base + 6 * day)
    _project(state, search, "chat-assistant", base + 6 * day)
    _project(state, ml, "feature-store", base + 7 * day)

    joined = base + 5 * day
    state._upsert_space_member(dana, fraud, predefined("MEMBER"), when=joined)
    state._upsert_space_member(lee, fraud, predefined("MEMBER"), when=joined)
    state._upsert_space_member(lee, search, predefined("MEMBER"), when=joined)
    state._upsert_space_member(sam, search, predefined("MEMBER"), when=joined)

    viewer = _custom_role(
        state,
        "Project Viewer",
        "Read-only access to one project.",
        PROJECT_VIEWER_PERMISSIONS,
        base + 8 * day,
    )
    _custom_role(
        state,
        "Space Editor",
        "Edit the content of a space.",
        SPACE_EDITOR_PERMISSIONS,
        base + 8 * day,
    )
    b_id, n = state.next_id("RoleBinding")
    state.bindings[b_id] = RoleBinding(
        id=b_id,
        n=n,
        role_id=viewer,
        user_id=lee.id,
        resource_type="PROJECT",
        resource_id=fraud_model.id,
        created_at=base + 9 * day,
        updated_at=base + 9 * day,
    )
    state._store_key(
        name="lee-laptop",
        description="Lee's personal key.",
        key_type="USER",
        user_id=lee.id,
        created_by=lee.id,
        expires_at=None,
        created_at=now - 60 * day,
    )

    def service_key(
        name: str, space: Space, creator: User, age_days: int, expires_in_days: int | None
    ) -> None:
        state._create_bot_key(
            name=name,
            description=f"Service key for {space.name}.",
            expires_at=now + expires_in_days * day if expires_in_days is not None else None,
            account_role=predefined("MEMBER"),
            plan=[(acme, predefined("READ_ONLY"), [(space, predefined("MEMBER"))])],
            created_by=creator.id,
            created_at=now - age_days * day,
            raw=new_raw_key(),
        )

    service_key("ci-fraud-detection", fraud, admin, 120, None)
    service_key("etl-search-ranking", search, admin, 10, 5)
    service_key("lee-etl", search, lee, 45, None)
    return admin
