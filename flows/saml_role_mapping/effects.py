"""What a list of SAML rules gives a member of some groups, and what a new list takes away.

Arize evaluates a configuration's rules in order: the account role and built-in space roles
take the most permissive match; custom space roles and project roles take the first matching
rule per space or project; a custom role on a space wins over a built-in one (a user holds one
role per space). Whether a rule change needs approval depends on that evaluation, not on the
edit: moving a rule up can take a role away from everyone in two groups, and appending one can
give a member of two groups a custom role that replaces a built-in ADMIN.

Rules are the comparable keys of :mod:`tasks.steps.saml` (ids, ``custom:<id>`` for custom space
roles, ``new:<name>`` for roles the plan creates).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations

from tasks.steps.saml import RuleKey

ACCOUNT_LEVEL = {"ADMIN": 3, "MEMBER": 2, "MEMBER_UI_ONLY": 1, "ANNOTATOR": 0}
SPACE_LEVEL = {"ADMIN": 3, "MEMBER": 2, "READ_ONLY": 1, "ANNOTATOR": 0}


@dataclass
class Grant:
    """The roles a login with some groups gets: account role, role per space, per project."""

    account: str | None = None
    spaces: dict[str, str] = field(default_factory=dict)
    projects: dict[str, str] = field(default_factory=dict)


def evaluate(rules: Iterable[RuleKey], attribute_name: str, groups: set[str]) -> Grant:
    """The roles a member of ``groups`` gets from ``rules``, as Arize documents it."""
    grant = Grant()
    custom: dict[str, str] = {}
    builtin: dict[str, str] = {}
    for attr, group, account, space, space_role, project, project_role in rules:
        if attr != attribute_name or group not in groups:
            continue
        if account and (grant.account is None or _more(ACCOUNT_LEVEL, account, grant.account)):
            grant.account = account
        if space and space_role:
            if space_role.startswith("custom:"):
                custom.setdefault(space, space_role)  # first match wins
            elif space not in builtin or _more(SPACE_LEVEL, space_role, builtin[space]):
                builtin[space] = space_role  # most permissive wins
        if project and project_role:
            grant.projects.setdefault(project, project_role)  # first match wins
    grant.spaces = {**builtin, **custom}
    return grant


def _more(levels: Mapping[str, int], a: str, b: str) -> bool:
    return levels.get(a, -1) > levels.get(b, -1)


def losses(old: Grant, new: Grant, names: Mapping[str, str]) -> list[str]:
    """What ``new`` takes away or replaces, in words: narrowed, changed or removed roles."""
    out: list[str] = []
    if old.account and (new.account is None or _more(ACCOUNT_LEVEL, old.account, new.account)):
        out.append(f"account {old.account} → {new.account or 'none'}")
    for kind, before, after in (
        ("space", old.spaces, new.spaces),
        ("project", old.projects, new.projects),
    ):
        for target, role in before.items():
            now = after.get(target)
            builtins = not role.startswith("custom:") and now and not now.startswith("custom:")
            if now == role or (builtins and _more(SPACE_LEVEL, str(now), role)):
                continue
            out.append(
                f"{kind} {names.get(target, target)}: {_label(role, names)} → "
                f"{_label(now, names) if now else 'none'}"
            )
    return out


def gains(old: Grant, new: Grant, names: Mapping[str, str]) -> list[str]:
    """What ``new`` adds or raises, in words."""
    out: list[str] = []
    if new.account and (old.account is None or _more(ACCOUNT_LEVEL, new.account, old.account)):
        out.append(f"account {old.account or 'none'} → {new.account}")
    for kind, before, after in (
        ("space", old.spaces, new.spaces),
        ("project", old.projects, new.projects),
    ):
        for target, role in after.items():
            was = before.get(target)
            builtins = was and not was.startswith("custom:") and not role.startswith("custom:")
            if was is None or (builtins and _more(SPACE_LEVEL, role, str(was))):
                out.append(
                    f"{kind} {names.get(target, target)}: "
                    f"{_label(was, names) if was else 'none'} → {_label(role, names)}"
                )
    return out


def _label(role: str, names: Mapping[str, str]) -> str:
    role = role.removeprefix("custom:")
    if role.startswith("new:"):
        return f"{role.removeprefix('new:')} (new)"
    return names.get(role, role)


def group_sets(
    rules: Iterable[RuleKey], attribute_name: str
) -> list[tuple[str, ...]]:
    """Each group alone, and each pair of groups whose rules meet on a space or project.

    A pair is where order matters: a member of both gets the first of their custom rules
    on a shared space or project.
    """
    by_target: dict[str, set[str]] = {}
    groups: set[str] = set()
    for attr, group, _account, space, space_role, project, project_role in rules:
        if attr != attribute_name:
            continue
        groups.add(group)
        if space and space_role:
            by_target.setdefault(f"space:{space}", set()).add(group)
        if project and project_role:
            by_target.setdefault(f"project:{project}", set()).add(group)
    pairs: set[tuple[str, ...]] = set()
    for members in by_target.values():
        pairs.update(combinations(sorted(members), 2))
    return [(g,) for g in sorted(groups)] + sorted(pairs)
