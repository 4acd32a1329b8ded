"""Read a directory of account YAML files into one `AccountSpec`, keeping file:line for each item.

Every problem is reported as what is wrong, where (``file:line``) and the fix, and all of them
at once: one bad file does not hide the next. Nothing is planned or applied from a directory
that has any problem. Line numbers come from PyYAML's node marks: each file is composed, not
just loaded, so every mapping and list item knows where it starts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from flows.account_as_code.format import (
    PREDEFINED_SPACE_ROLES,
    AccountSpec,
    Ownership,
)

Path_ = tuple[str | int, ...]
# libyaml when the build has it (a tenth of the time on a large export), same marks either way.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LISTS = ("roles", "users", "spaces", "bindings")
"""Top-level lists that several files may each contribute to."""
SINGLE = ("ownership", "selector")
"""Top-level settings that one file at most may give."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the files: what, where, and how to fix it."""

    what: str
    where: str
    fix: str

    def render(self) -> str:
        return f"{self.where}: {self.what}\n  fix: {self.fix}"


class AccountFilesError(ValueError):
    """The directory has problems; nothing was planned or changed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


@dataclass(frozen=True)
class _Part:
    """Items ``start`` to ``start + count`` of a joined top-level list came from ``file``."""

    key: str
    start: int
    count: int
    file: Path


@dataclass
class LoadedAccount:
    """The joined spec, and which file each of its items came from.

    Lines are found when asked for (``where``), by composing that one file again: a problem is
    rare, while a line for every field of a large account would cost more memory than the
    spec itself.
    """

    spec: AccountSpec
    files: list[Path] = field(default_factory=list)
    root: Path | None = None
    parts: list[_Part] = field(default_factory=list)
    single: dict[str, Path] = field(default_factory=dict)
    """``ownership`` / ``selector`` → the file that gives it."""

    def where(self, field_path: str) -> str:
        """``file:line`` of the field, or of the nearest enclosing item that has one."""
        path = _parse(field_path)
        located = self._file_of(path)
        if located is None:
            return ", ".join(str(f) for f in self.files) or "the account directory"
        file, local = located
        name = file.relative_to(self.root).as_posix() if self.root else str(file)
        composer = _Composer(name)
        composer.load(file.read_text())
        for cut in range(len(local), 0, -1):
            if local[:cut] in composer.lines:
                return f"{name}:{composer.lines[local[:cut]]}"
        return f"{name}:1"

    def _file_of(self, path: Path_) -> tuple[Path, Path_] | None:
        if not path:
            return None
        head = path[0]
        if head in self.single:
            return self.single[str(head)], path
        if len(path) < 2 or not isinstance(path[1], int):
            return None
        for part in self.parts:
            if part.key == head and part.start <= path[1] < part.start + part.count:
                return part.file, (head, path[1] - part.start, *path[2:])
        return None


_STEP = re.compile(r"\.?([A-Za-z_]\w*)|\[(\d+)\]")


def _parse(field_path: str) -> Path_:
    """``spaces[2].members[0]`` → ``('spaces', 2, 'members', 0)``."""
    return tuple(
        int(index) if index else name for name, index in _STEP.findall(field_path)
    )


def dotted(path: Path_) -> str:
    """``('spaces', 2, 'members', 0)`` → ``spaces[2].members[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Composer:
    """YAML text → plain data, with the line of every mapping value and list item."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: dict[Path_, int] = {}
        self.problems: list[Problem] = []
        self._scalars = yaml.SafeLoader("")

    def load(self, text: str) -> Any:
        try:
            node = yaml.compose(text, Loader=_LOADER)
        except yaml.YAMLError as ex:
            mark = getattr(ex, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            problem = getattr(ex, "problem", None) or str(ex)
            self.problems.append(
                Problem(
                    f"not valid YAML: {problem}",
                    f"{self.name}:{line}",
                    "fix the indentation or quoting at that line (a value with ': ' or '#' "
                    "needs quotes)",
                )
            )
            return None
        return None if node is None else self._data(node, ())

    def _data(self, node: yaml.Node, path: Path_) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._scalars.construct_object(key_node, deep=True)
                if key in out:
                    self.problems.append(
                        Problem(
                            f"key {key!r} appears twice in one mapping",
                            f"{self.name}:{key_node.start_mark.line + 1}",
                            "keep one of them",
                        )
                    )
                out[key] = self._data(value_node, (*path, key))
                self.lines[(*path, key)] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._data(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalars.construct_object(node, deep=True)


def _yaml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_account(directory: str | Path) -> LoadedAccount:
    """Read, validate and join every ``*.yaml`` / ``*.yml`` file under ``directory``.

    Raises:
        AccountFilesError: every problem found, each with file:line and the fix.
    """
    root = Path(directory)
    if not root.is_dir():
        raise AccountFilesError(
            [Problem(f"{root} is not a directory", str(root), "give the account directory")]
        )
    files = _yaml_files(root)
    if not files:
        raise AccountFilesError(
            [Problem("no .yaml files", str(root), "run `arize-runbooks account export` into it")]
        )
    problems: list[Problem] = []
    joined: dict[str, Any] = {name: [] for name in LISTS}
    parts: list[_Part] = []
    single: dict[str, Path] = {}
    single_from: dict[str, str] = {}
    for path in files:
        name = path.relative_to(root).as_posix()
        composer = _Composer(name)
        data = composer.load(path.read_text())
        problems += composer.problems
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(
                Problem("the file is not a mapping", f"{name}:1", f"start with one of {LISTS}")
            )
            continue
        try:
            part = AccountSpec.model_validate(data)
        except ValidationError as ex:
            problems += [_problem(name, composer.lines, error) for error in ex.errors()]
            continue
        for key in SINGLE:
            if key in data:
                if key in single_from:
                    problems.append(
                        Problem(
                            f"{key} is given twice (first in {single_from[key]})",
                            f"{name}:{composer.lines.get((key,), 1)}",
                            f"give {key} in one file only",
                        )
                    )
                    continue
                single_from[key] = f"{name}:{composer.lines.get((key,), 1)}"
                single[key] = path
                joined[key] = getattr(part, key)
        for key in LISTS:
            items = getattr(part, key)
            if items:
                parts.append(_Part(key, len(joined[key]), len(items), path))
                joined[key].extend(items)
    if problems:
        raise AccountFilesError(problems)
    loaded = LoadedAccount(
        spec=AccountSpec.model_validate(joined), files=files, root=root, parts=parts,
        single=single,
    )
    problems = list(check_account(loaded))
    if problems:
        raise AccountFilesError(problems)
    return loaded


def _problem(name: str, lines: dict[Path_, int], error: Any) -> Problem:
    loc: Path_ = tuple(error["loc"])
    line = 1
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            line = lines[loc[:cut]]
            break
    field_name = dotted(loc) or "the file"
    fix = {
        "extra_forbidden": "remove it, or check its spelling against docs/account-as-code.md",
        "missing": "add it",
        "enum": "use one of the values listed",
        "literal_error": "use one of the values listed",
    }.get(error["type"], "correct the value")
    return Problem(f"{field_name}: {error['msg']}", f"{name}:{line}", fix)


def check_account(loaded: LoadedAccount) -> Iterator[Problem]:
    """What pydantic cannot see across items and files: duplicates, unknown roles and spaces."""
    spec = loaded.spec
    where = loaded.where

    def duplicates(values: list[str], path: str, kind: str) -> Iterator[Problem]:
        seen: dict[str, int] = {}
        for index, value in enumerate(values):
            if value in seen:
                first = where(f"{path}[{seen[value]}]")
                yield Problem(
                    f"{kind} {value!r} is declared twice (first at {first})",
                    where(f"{path}[{index}]"),
                    f"keep one declaration of {kind} {value!r}",
                )
            else:
                seen[value] = index

    yield from duplicates([r.name for r in spec.roles], "roles", "role")
    yield from duplicates([r.id for r in spec.roles if r.id], "roles", "role id")
    yield from duplicates([u.email.lower() for u in spec.users], "users", "user")
    yield from duplicates(
        [f"{s.organization}/{s.name}" for s in spec.spaces], "spaces", "space"
    )
    for i, space in enumerate(spec.spaces):
        base = f"spaces[{i}]"
        yield from duplicates([m.email.lower() for m in space.members], f"{base}.members", "member")
        yield from duplicates([p.name for p in space.projects], f"{base}.projects", "project")
        yield from duplicates([k.name for k in space.service_keys], f"{base}.service_keys", "key")
        for j, project in enumerate(space.projects):
            yield from duplicates(
                [b.email.lower() for b in project.bindings],
                f"{base}.projects[{j}].bindings",
                "binding of",
            )

    declared_roles = {r.name for r in spec.roles}
    roles_closed = spec.ownership.roles is Ownership.AUTHORITATIVE
    known_roles = ", ".join([*PREDEFINED_SPACE_ROLES, *sorted(declared_roles)])
    for path, role in _role_uses(spec):
        if predefined_name(role) or role in declared_roles:
            continue
        if roles_closed:
            yield Problem(
                f"{path}.role: unknown role {role!r}",
                where(f"{path}.role"),
                f"use one of {known_roles}, or declare it under roles",
            )

    declared_spaces = {s.name for s in spec.spaces}
    counts = Counter(s.name for s in spec.spaces)
    for i, binding in enumerate(spec.bindings):
        path = f"bindings[{i}]"
        kind = "project_bindings" if binding.project else "space_members"
        closed = getattr(spec.ownership, kind) is Ownership.AUTHORITATIVE
        if binding.space not in declared_spaces and closed:
            yield Problem(
                f"{path}.space: {binding.space!r} is not declared under spaces, and "
                f"{kind} is authoritative",
                where(f"{path}.space"),
                f"declare space {binding.space!r} under spaces, or make {kind} additive",
            )
        if counts[binding.space] > 1 and binding.organization is None:
            yield Problem(
                f"{path}.space: two organizations have a space {binding.space!r}",
                where(f"{path}.space"),
                "add organization: to the binding",
            )


def predefined_name(role: str) -> str | None:
    """The predefined role a name means (``Read Only``, ``read_only`` → ``READ_ONLY``), if any.

    Arize shows predefined roles in more than one spelling; one name for each keeps a plan from
    flapping between them.
    """
    name = role.strip().upper().replace(" ", "_").replace("-", "_")
    return name if name in PREDEFINED_SPACE_ROLES else None


def _role_uses(spec: AccountSpec) -> Iterator[tuple[str, str]]:
    for i, space in enumerate(spec.spaces):
        for j, member in enumerate(space.members):
            yield f"spaces[{i}].members[{j}]", member.role
        for j, project in enumerate(space.projects):
            for k, binding in enumerate(project.bindings):
                yield f"spaces[{i}].projects[{j}].bindings[{k}]", binding.role
    for i, binding in enumerate(spec.bindings):
        yield f"bindings[{i}]", binding.role
