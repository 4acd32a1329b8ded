"""Export: the live account written as account-as-code files, with stable ids.

The files say exactly what the planner compares, in its canonical spelling (predefined roles by
one name, people by lower-case email), so a plan right after an export is empty. Layout:
``account.yaml`` (ownership and selector, all additive), ``roles.yaml``, ``users.yaml`` and
one ``spaces/<organization>/<space>.yaml`` per space.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from arize_admin import AsyncArizeAdmin, UserStatus
from core.keys import KeyReader
from flows.account_as_code.format import (
    AccountSpec,
    MemberDecl,
    ProjectDecl,
    RoleDecl,
    ServiceKeyDecl,
    SpaceDecl,
    UserDecl,
)
from flows.account_as_code.live import LiveAccount, read_live
from flows.account_as_code.plan import _space_role_of, _spaces_of

HEADER = "# Written by `arize-runbooks account export`; edit freely, ids keep renames in place.\n"


async def export_account(client: AsyncArizeAdmin, keys: KeyReader | None = None) -> AccountSpec:
    """Read the live account (paged listings only) and describe it as a spec."""
    return account_spec(await read_live(client), keys)


def account_spec(live: LiveAccount, keys: KeyReader | None = None) -> AccountSpec:
    """The spec that describes ``live`` exactly."""
    roles = [
        RoleDecl(
            name=r.name, id=r.id, description=r.description or "",
            permissions=sorted(r.permissions),
        )
        for r in sorted(live.roles, key=lambda r: r.name)
        if not r.is_predefined
    ]
    users = [
        UserDecl(
            email=u.email, name=u.name, account_role=u.account_role,
            invited=u.status is not UserStatus.ACTIVE,
        )
        for u in sorted(live.users, key=lambda u: u.email)
    ]
    members: dict[str, list[MemberDecl]] = {}
    for b in live.space_bindings:
        user = live.user_by_id.get(b.user_id)
        role = live.role_name(b.role_id)
        if user is not None and role is not None:
            members.setdefault(b.resource_id, []).append(
                MemberDecl(email=user.email.lower(), role=role)
            )
    project_members: dict[str, list[MemberDecl]] = {}
    for b in live.project_bindings:
        user = live.user_by_id.get(b.user_id)
        role = live.role_name(b.role_id)
        if user is not None and role is not None:
            project_members.setdefault(b.resource_id, []).append(
                MemberDecl(email=user.email.lower(), role=role)
            )
    projects: dict[str, list[ProjectDecl]] = {}
    for p in sorted(live.projects, key=lambda p: p.name):
        projects.setdefault(p.space_id, []).append(
            ProjectDecl(
                name=p.name, id=p.id, restricted=p.id in live.restricted,
                bindings=sorted(project_members.get(p.id, []), key=lambda m: m.email),
            )
        )
    service_keys: dict[str, list[ServiceKeyDecl]] = {}
    for k in sorted(live.service_keys, key=lambda k: k.name):
        for space_id in sorted(_spaces_of(k)):
            space_name = live.space_name(space_id)
            service_keys.setdefault(space_id, []).append(
                ServiceKeyDecl(
                    name=k.name, id=k.id, role=_space_role_of(k, space_id) or "MEMBER",
                    expires_at=k.expires_at, description=k.description or "",
                    key_store=keys.secret_name(k.name, space_name) if keys else None,
                )
            )
    spaces = [
        SpaceDecl(
            name=s.name, id=s.id, organization=live.org_name(s.organization_id),
            description=s.description or "",
            members=sorted(members.get(s.id, []), key=lambda m: m.email),
            projects=projects.get(s.id, []),
            service_keys=service_keys.get(s.id, []),
        )
        for s in sorted(live.spaces, key=lambda s: (live.org_name(s.organization_id), s.name))
    ]
    return AccountSpec(roles=roles, users=users, spaces=spaces)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "unnamed"


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(data: dict[str, Any]) -> str:
    """One file's text: the header, then the data in the order given (libyaml when built)."""
    return HEADER + yaml.dump(
        data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=100
    )


def write_account(spec: AccountSpec, directory: str | Path) -> list[Path]:
    """Write ``spec`` as files under ``directory``; files of an earlier export are replaced.

    Returns:
        The files written.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob("spaces/**/*.yaml"):
        # A space deleted in Arize since the last export must not linger as a file.
        old.unlink()
    written: dict[Path, str] = {
        root / "account.yaml": dump(
            {"ownership": spec.ownership.model_dump(mode="json"),
             "selector": spec.selector.model_dump(mode="json")}
        ),
        root / "roles.yaml": dump(
            {"roles": [r.model_dump(mode="json", exclude_defaults=True) for r in spec.roles]}
        ),
        root / "users.yaml": dump(
            {"users": [u.model_dump(mode="json", exclude_defaults=True) for u in spec.users]}
        ),
    }
    for space in spec.spaces:
        path = root / "spaces" / _slug(space.organization) / f"{_slug(space.name)}.yaml"
        written[path] = dump({"spaces": [space.model_dump(mode="json", exclude_defaults=True)]})
    for path, text in written.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return list(written)
