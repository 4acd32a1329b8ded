"""Export: the live account written as account-as-code files, with stable ids.

``export_to`` writes file by file: each space's declaration is built from the live account's
indexes, written and dropped before the next, so the export holds the live account (compact,
``live``) and one space's declaration at a time, never the whole spec.

The files say exactly what the planner compares, in its canonical spelling (predefined roles by
one name, people by lower-case email), so a plan right after an export is empty. Layout:
``account.yaml`` (ownership and selector, all additive), ``roles.yaml``, ``users.yaml`` and
one ``spaces/<organization>/<space>.yaml`` per space.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from arize_admin import AsyncArizeAdmin, Project, ServiceApiKey, UserStatus
from core.keys import KeyReader
from flows.account_as_code.format import (
    AccountSpec,
    MemberDecl,
    OwnershipModes,
    ProjectDecl,
    RoleDecl,
    Selector,
    ServiceKeyDecl,
    SpaceDecl,
    UserDecl,
)
from flows.account_as_code.live import Binding, LiveAccount, read_live
from flows.account_as_code.plan import _space_role_of, _spaces_of

HEADER = "# Written by `arize-runbooks account export`; edit freely, ids keep renames in place.\n"


async def export_account(client: AsyncArizeAdmin, keys: KeyReader | None = None) -> AccountSpec:
    """Read the live account (paged listings only) and describe it as a spec."""
    return account_spec(await read_live(client), keys)


async def export_to(
    client: AsyncArizeAdmin, directory: str | Path, keys: KeyReader | None = None
) -> Exported:
    """Read the live account and write it under ``directory``, one space's file at a time.

    What ``write_account(await export_account(client))`` writes, without holding the whole
    spec: each space's declaration is built, written and dropped before the next.
    """
    live = await read_live(client)
    return write_live(live, directory, keys)


def account_spec(live: LiveAccount, keys: KeyReader | None = None) -> AccountSpec:
    """The spec that describes ``live`` exactly."""
    return AccountSpec(
        roles=_role_decls(live), users=_user_decls(live), spaces=list(_space_decls(live, keys))
    )


def _role_decls(live: LiveAccount) -> list[RoleDecl]:
    return [
        RoleDecl(
            name=r.name, id=r.id, description=r.description or "",
            permissions=sorted(r.permissions),
        )
        for r in sorted(live.roles, key=lambda r: r.name)
        if not r.is_predefined
    ]


def _user_decls(live: LiveAccount) -> list[UserDecl]:
    return list(_each_user(live))


def _each_user(live: LiveAccount) -> Iterator[UserDecl]:
    for u in sorted(live.users, key=lambda u: u.email):
        yield UserDecl(
            email=u.email, name=u.name, account_role=u.account_role,
            invited=u.status is not UserStatus.ACTIVE,
        )


def _space_decls(live: LiveAccount, keys: KeyReader | None) -> Iterator[SpaceDecl]:
    """Each space's declaration in turn, in file order; the indexes hold references only."""
    bindings_on: dict[str, list[Binding]] = defaultdict(list)
    for b in (*live.space_bindings, *live.project_bindings):
        bindings_on[b.resource_id].append(b)
    projects_in: dict[str, list[Project]] = defaultdict(list)
    for p in sorted(live.projects, key=lambda p: p.name):
        projects_in[p.space_id].append(p)
    keys_in: dict[str, list[ServiceApiKey]] = defaultdict(list)
    for k in sorted(live.service_keys, key=lambda k: k.name):
        for space_id in sorted(_spaces_of(k)):
            keys_in[space_id].append(k)

    def members(resource_id: str) -> list[MemberDecl]:
        found = []
        for b in bindings_on.get(resource_id, []):
            user = live.user_by_id.get(b.user_id)
            role = live.role_name(b.role_id)
            if user is not None and role is not None:
                found.append(MemberDecl(email=user.email, role=role))
        return sorted(found, key=lambda m: m.email)

    for s in sorted(live.spaces, key=lambda s: (live.org_name(s.organization_id), s.name)):
        yield SpaceDecl(
            name=s.name, id=s.id, organization=live.org_name(s.organization_id),
            description=s.description or "",
            members=members(s.id),
            projects=[
                ProjectDecl(
                    name=p.name, id=p.id, restricted=p.id in live.restricted,
                    bindings=members(p.id),
                )
                for p in projects_in.get(s.id, [])
            ],
            service_keys=[
                ServiceKeyDecl(
                    name=k.name, id=k.id, role=_space_role_of(k, s.id) or "MEMBER",
                    expires_at=k.expires_at, description=k.description or "",
                    key_store=keys.secret_name(k.name, s.name) if keys else None,
                )
                for k in keys_in.get(s.id, [])
            ],
        )


@dataclass(frozen=True)
class Exported:
    """What an export wrote."""

    files: list[Path]
    spaces: int
    roles: int
    people: int


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "unnamed"


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(data: dict[str, Any]) -> str:
    """One file's text: the header, then the data in the order given (libyaml when built)."""
    return HEADER + _dump_text(data)


def _dump_text(data: object) -> str:
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=100)


def write_account(spec: AccountSpec, directory: str | Path) -> list[Path]:
    """Write ``spec`` as files under ``directory``; files of an earlier export are replaced.

    Returns:
        The files written.
    """
    return _write(
        directory, spec.ownership, spec.selector, spec.roles, spec.users, iter(spec.spaces)
    )


def write_live(
    live: LiveAccount, directory: str | Path, keys: KeyReader | None = None
) -> Exported:
    """Write ``live`` as files under ``directory``, one space at a time."""
    roles = _role_decls(live)
    files = _write(
        directory, OwnershipModes(), Selector(), roles, _each_user(live), _space_decls(live, keys)
    )
    return Exported(
        files=files, spaces=len(live.spaces), roles=len(roles), people=len(live.users)
    )


def _write(
    directory: str | Path,
    ownership: OwnershipModes,
    selector: Selector,
    roles: list[RoleDecl],
    users: Iterable[UserDecl],
    spaces: Iterator[SpaceDecl],
) -> list[Path]:
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob("spaces/**/*.yaml"):
        # A space deleted in Arize since the last export must not linger as a file.
        old.unlink()
    written = [
        _put(root / "account.yaml", {"ownership": ownership.model_dump(mode="json"),
                                     "selector": selector.model_dump(mode="json")}),
        _put(root / "roles.yaml",
             {"roles": [r.model_dump(mode="json", exclude_defaults=True) for r in roles]}),
        write_list(
            root / "users.yaml", "users",
            (u.model_dump(mode="json", exclude_defaults=True) for u in users),
        ),
    ]
    for space in spaces:
        path = root / "spaces" / _slug(space.organization) / f"{_slug(space.name)}.yaml"
        written.append(
            _put(path, {"spaces": [space.model_dump(mode="json", exclude_defaults=True)]})
        )
    return written


def write_list(path: Path, key: str, items: Iterable[dict[str, Any]]) -> Path:
    """``{key: [items]}`` as ``dump`` writes it, an item at a time (the list is never whole).

    A block sequence under a top-level key is not indented, so the file is the key's line and
    each item dumped as a one-item list, the same text ``dump`` gives for the whole list.
    """
    with path.open("w") as out:
        out.write(HEADER + f"{key}:")
        empty = True
        for item in items:
            out.write("\n" if empty else "")
            empty = False
            out.write(_dump_text([item]))
        out.write(" []\n" if empty else "")
    return path


def _put(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump(data))
    return path
