"""Read and validate a directory of account YAML files a file at a time, with file:line for items.

Every problem is reported as what is wrong, where (``file:line``) and the fix, and all of them
at once: one bad file does not hide the next. Nothing is planned or applied from a directory
that has any problem. Line numbers come from PyYAML's node marks: each file is composed, not
just loaded, so every mapping and list item knows where it starts. A long top-level list is
composed a piece at a time from the parser's events (``_Composer.pieces``), so a file of
thousands of people is never in memory whole.
"""

from __future__ import annotations

import functools
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from pydantic import ValidationError

from arize_admin import InviteMode
from flows.account_as_code.format import (
    PREDEFINED_SPACE_ROLES,
    AccountSpec,
    BindingDecl,
    Ownership,
    OwnershipModes,
    RoleDecl,
    Selector,
    SpaceDecl,
    UserDecl,
)

Path_ = tuple[str | int, ...]
# libyaml when the build has it (a tenth of the time on a large export), same marks either way.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LISTS = ("roles", "users", "spaces", "bindings")
"""Top-level lists that several files may each contribute to."""
SINGLE = ("ownership", "selector")
#: Items of a top-level list validated together while a file is read: a piece's worth of
#: people or spaces in memory at a time, whatever the size of the file.
CHUNK = 200
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


class DeclaredUser(NamedTuple):
    """A declared person, as the planner reads them: a tuple, not a model (one per person)."""

    email: str
    """Lower case."""
    name: str
    account_role: str
    org_role: str
    invite_mode: InviteMode


@dataclass
class LoadedAccount:
    """The directory, validated, and which file each of its items came from.

    The files are read twice and never held whole: once to validate them (keeping only the
    small settings, the roles, the top-level bindings, the people as tuples and the spaces'
    names), and again by the planner a file at a time (``each_space``), so the declared
    spaces, their members and bindings are in memory one file's worth at a time. ``spec``
    joins every file into one model for the callers that need it whole (a flow parameter).

    Lines are found when asked for (``where``), by composing that one file again: a problem is
    rare, while a line for every field of a large account would cost more memory than the
    spec itself.
    """

    files: list[Path] = field(default_factory=list)
    root: Path | None = None
    parts: list[_Part] = field(default_factory=list)
    single: dict[str, Path] = field(default_factory=dict)
    """``ownership`` / ``selector`` → the file that gives it."""
    ownership: OwnershipModes = field(default_factory=OwnershipModes)
    selector: Selector = field(default_factory=Selector)
    roles: list[RoleDecl] = field(default_factory=list)
    bindings: list[BindingDecl] = field(default_factory=list)
    users: dict[str, DeclaredUser] = field(default_factory=dict)
    """Lower-case email → the person, in file order."""
    space_heads: list[SpaceDecl] = field(default_factory=list)
    """Every declared space without its members, projects and keys, in file order."""
    joined: AccountSpec | None = None
    """The whole spec, when it was given whole (``of_spec``) rather than read from files."""

    @classmethod
    def of_spec(cls, spec: AccountSpec) -> LoadedAccount:
        """An account given whole (a flow parameter, a test): the same reads, from memory."""
        return cls(
            ownership=spec.ownership, selector=spec.selector, roles=spec.roles,
            bindings=spec.bindings, users=_declared_users(spec.users),
            space_heads=[_head(s) for s in spec.spaces], joined=spec,
        )

    @functools.cached_property
    def spec(self) -> AccountSpec:
        """Every file joined into one spec (the whole account in memory: for flows and tests)."""
        if self.joined is not None:
            return self.joined
        joined: dict[str, Any] = {name: [] for name in LISTS}
        joined.update(ownership=self.ownership, selector=self.selector)
        for _, part in self._parts_read():
            for key in LISTS:
                joined[key].extend(getattr(part, key))
        return AccountSpec.model_validate(joined)

    def each_space(self) -> Iterator[tuple[int, SpaceDecl]]:
        """Each declared space with its index in the joined files, read a file at a time."""
        if self.joined is not None:
            yield from enumerate(self.joined.spaces)
            return
        starts = {p.file: p.start for p in self.parts if p.key == "spaces"}
        for path, part in self._parts_read(set(starts)):
            for j, space in enumerate(part.spaces):
                yield starts[path] + j, space

    def _parts_read(self, only: set[Path] | None = None) -> Iterator[tuple[Path, AccountSpec]]:
        """Each file again, validated (it was valid when loaded), one at a time.

        Raises:
            AccountFilesError: a file no longer reads or validates (edited since it was loaded).
        """
        for path in self.files:
            if only is not None and path not in only:
                continue
            name = path.relative_to(self.root).as_posix() if self.root else str(path)
            composer = _Composer(name)
            try:
                data = composer.load(path.read_text())
                if data is None and not composer.problems:
                    continue  # empty when loaded too
                part = AccountSpec.model_validate(data)
            except (OSError, ValidationError) as ex:
                raise AccountFilesError([
                    Problem(
                        "the file changed after it was checked, and no longer reads as an "
                        "account file; nothing was planned", name,
                        "finish the edit, then plan again",
                    )
                ]) from ex
            yield path, part

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


def _head(space: SpaceDecl) -> SpaceDecl:
    return space.model_copy(update={"members": [], "projects": [], "service_keys": []})


def _declared_users(users: Iterable[UserDecl]) -> dict[str, DeclaredUser]:
    declared: dict[str, DeclaredUser] = {}
    for u in users:
        email = u.email.lower()
        declared[email] = DeclaredUser(
            email, u.name, sys.intern(u.account_role), sys.intern(u.org_role), u.invite_mode
        )
    return declared


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
            self._yaml_problem(ex)
            return None
        try:
            return None if node is None else self._data(node, ())
        finally:
            # The constructor remembers every node it built, and a loader refers to itself (its
            # parser's state): left so, each file's nodes would wait for the cycle collector,
            # and the files read one at a time would pile up in memory all the same.
            self._scalars.constructed_objects.clear()
            self._scalars.dispose()

    def pieces(self, text: str, size: int = CHUNK) -> Iterator[dict[str, Any] | Any]:
        """The file's top-level mapping in pieces, without ever holding all of it: each
        non-list key as ``{key: value}``, each top-level list as ``{key: [items]}`` of at
        most ``size`` items (``self.offsets[key]``: the index of the piece's first item).

        A list of 5,000 people composed whole is 12 MiB of YAML nodes; read so, one piece's
        worth. Lines are kept for the piece in hand only (``self.lines``, absolute paths).
        A top level that is not a mapping is yielded whole, as it is.
        """
        loader = _LOADER(text)
        self.offsets: dict[str, int] = {}
        anchors: dict[str, yaml.Node] = {}
        try:
            loader.get_event()  # stream start
            if loader.check_event(yaml.StreamEndEvent):
                return
            loader.get_event()  # document start
            if not loader.check_event(yaml.MappingStartEvent):
                yield self._data(_node(loader, anchors), ())
                return
            loader.get_event()
            seen: set[Any] = set()
            while not loader.check_event(yaml.MappingEndEvent):
                key_node = _node(loader, anchors)
                key = self._scalars.construct_object(key_node, deep=True)
                key_line = key_node.start_mark.line + 1
                if key in seen:
                    self.problems.append(
                        Problem(f"key {key!r} appears twice in one mapping",
                                f"{self.name}:{key_line}", "keep one of them")
                    )  # fmt: skip
                seen.add(key)
                if key in LISTS and loader.check_event(yaml.SequenceStartEvent):
                    yield from self._list_pieces(loader, anchors, key, key_line, size)
                    continue
                self.lines = {}
                value = self._data(_node(loader, anchors), (key,))
                self.lines[(key,)] = key_line  # a key's line is its own, not its value's
                yield {key: value}
            loader.get_event()  # mapping end
            loader.get_event()  # document end
            if not loader.check_event(yaml.StreamEndEvent):
                raise yaml.composer.ComposerError(
                    "expected a single document in the stream", None,
                    "but found another document", loader.peek_event().start_mark,
                )  # fmt: skip
        except yaml.YAMLError as ex:
            self._yaml_problem(ex)
        finally:
            self._scalars.constructed_objects.clear()
            self._scalars.dispose()
            loader.dispose()

    def _list_pieces(
        self, loader: Any, anchors: dict[str, yaml.Node], key: str, key_line: int, size: int
    ) -> Iterator[dict[str, Any]]:
        loader.get_event()  # sequence start
        index, items = 0, []
        self.lines, self.offsets[key] = {(key,): key_line}, 0
        while not loader.check_event(yaml.SequenceEndEvent):
            items.append(self._data(_node(loader, anchors), (key, index)))
            self._scalars.constructed_objects.clear()
            index += 1
            if len(items) == size:
                yield {key: items}
                self.lines, self.offsets[key], items = {(key,): key_line}, index, []
        loader.get_event()
        if items or index == 0:
            yield {key: items}

    def _yaml_problem(self, ex: yaml.YAMLError) -> None:
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


def _node(loader: Any, anchors: dict[str, yaml.Node]) -> yaml.Node:
    """The next node of ``loader``'s events, as ``yaml.compose`` would build it (tags resolved,
    anchors and aliases kept), so a piece of a file can be composed alone."""
    event = loader.get_event()
    if isinstance(event, yaml.AliasEvent):
        if event.anchor not in anchors:
            raise yaml.composer.ComposerError(
                None, None, f"found undefined alias {event.anchor!r}", event.start_mark
            )
        return anchors[event.anchor]
    node: yaml.Node
    if isinstance(event, yaml.ScalarEvent):
        tag = event.tag
        if tag is None or tag == "!":
            tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark,
                               style=event.style)  # fmt: skip
    elif isinstance(event, yaml.SequenceStartEvent):
        tag = event.tag
        if tag is None or tag == "!":
            tag = loader.resolve(yaml.SequenceNode, None, event.implicit)
        node = yaml.SequenceNode(tag, [], event.start_mark, None, flow_style=event.flow_style)
        while not loader.check_event(yaml.SequenceEndEvent):
            node.value.append(_node(loader, anchors))
        node.end_mark = loader.get_event().end_mark
    elif isinstance(event, yaml.MappingStartEvent):
        tag = event.tag
        if tag is None or tag == "!":
            tag = loader.resolve(yaml.MappingNode, None, event.implicit)
        node = yaml.MappingNode(tag, [], event.start_mark, None, flow_style=event.flow_style)
        while not loader.check_event(yaml.MappingEndEvent):
            key = _node(loader, anchors)
            node.value.append((key, _node(loader, anchors)))
        node.end_mark = loader.get_event().end_mark
    else:
        raise yaml.composer.ComposerError(
            None, None, f"expected a node, but found {event.__class__.__name__}", event.start_mark
        )
    if getattr(event, "anchor", None):
        anchors[event.anchor] = node
    return node


def _yaml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_account(directory: str | Path) -> LoadedAccount:
    """Read and validate every ``*.yaml`` / ``*.yml`` file under ``directory``, a file at a time.

    Each file is composed, validated, checked against what the files before it declared, and
    dropped: what is kept is small (settings, roles, top-level bindings, people as tuples,
    spaces' names). The planner reads the spaces again (``LoadedAccount.each_space``).

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
    loaded = LoadedAccount(files=files, root=root)
    checks = _Checks(loaded)
    single_from: dict[str, str] = {}
    counts = dict.fromkeys(LISTS, 0)
    for path in files:
        name = path.relative_to(root).as_posix()
        composer = _Composer(name)
        found: list[Problem] = []
        at_part: dict[str, int] = {}  # list key → its _Part in loaded.parts, for this file
        for piece in composer.pieces(path.read_text()):
            if not isinstance(piece, dict):
                found.append(
                    Problem("the file is not a mapping", f"{name}:1", f"start with one of {LISTS}")
                )
                break
            try:
                part = AccountSpec.model_validate(piece)
            except ValidationError as ex:
                found += [
                    _problem(name, composer.lines, _local(error, composer.offsets))
                    for error in ex.errors()
                ]
                continue
            for key in SINGLE:
                if key in piece:
                    at = f"{name}:{composer.lines.get((key,), 1)}"
                    if key in single_from:
                        found.append(
                            Problem(
                                f"{key} is given twice (first in {single_from[key]})", at,
                                f"give {key} in one file only",
                            )
                        )
                        continue
                    single_from[key] = at
                    loaded.single[key] = path
                    setattr(loaded, key, getattr(part, key))
            for key in LISTS:
                items = len(getattr(part, key))
                if items:
                    _grow(loaded.parts, at_part, key, counts[key], items, path)
                    counts[key] += items
            del piece  # the piece's data and lines: only its validated part is checked
            if not (problems or found or composer.problems):
                checks.add(part)
            else:
                checks.stop()
        broken = [p for p in composer.problems if p.what.startswith("not valid YAML")]
        # A file that is not YAML says only that, as when it was read whole.
        problems += broken or [*composer.problems, *found]
    if problems:
        raise AccountFilesError(problems)
    problems = list(checks.finish())
    if problems:
        raise AccountFilesError(problems)
    return loaded


def _local(error: Any, offsets: dict[str, int]) -> Any:
    """A piece's validation error with its item index counted from the start of the file."""
    loc = tuple(error["loc"])
    if len(loc) > 1 and loc[0] in offsets and isinstance(loc[1], int):
        return {**error, "loc": (loc[0], offsets[loc[0]] + loc[1], *loc[2:])}
    return error


def _grow(
    parts: list[_Part], at_part: dict[str, int], key: str, start: int, count: int, file: Path
) -> None:
    """Count ``count`` more items of ``key`` from ``file`` (one ``_Part`` per file and key)."""
    if key in at_part:
        known = parts[at_part[key]]
        parts[at_part[key]] = _Part(key, known.start, known.count + count, file)
    else:
        at_part[key] = len(parts)
        parts.append(_Part(key, start, count, file))


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


class _Checks:
    """What pydantic cannot see across items and files: duplicates, unknown roles and spaces.

    Fed one validated file at a time; keeps only what a later file is checked against (names,
    e-mails, the roles used and not yet declared). Problems come out in the order of the kinds
    checked, whatever the order of the files: duplicates, then unknown roles, then bindings.
    """

    def __init__(self, loaded: LoadedAccount) -> None:
        self.loaded = loaded
        self.where = loaded.where
        self.stopped = False
        self.seen_users: dict[str, int] = {}
        self.seen_spaces: dict[str, int] = {}
        self.space_count = 0
        self.user_count = 0
        self.role_names: set[str] = set()
        self.duplicate_users: list[Problem] = []
        self.duplicate_spaces: list[Problem] = []
        self.inside_spaces: list[Problem] = []
        self.role_uses: list[tuple[str, str]] = []
        """(field path, role) of each use of a role not predefined nor declared before it."""

    def stop(self) -> None:
        """A file has problems: they are all that is reported, so checking further is moot."""
        self.stopped = True

    def add(self, part: AccountSpec) -> None:
        if self.stopped:
            return
        loaded = self.loaded
        loaded.roles.extend(part.roles)
        self.role_names.update(r.name for r in part.roles)
        start = len(loaded.bindings)
        loaded.bindings.extend(part.bindings)
        for i, binding in enumerate(part.bindings, start):
            self._use(f"bindings[{i}]", binding.role)
        for user in part.users:
            self._first("users", user.email.lower(), self.user_count, self.seen_users,
                        "user", self.duplicate_users)
            self.user_count += 1
        loaded.users.update(_declared_users(part.users))
        for space in part.spaces:
            i = self.space_count
            self.space_count += 1
            self._first("spaces", f"{space.organization}/{space.name}", i, self.seen_spaces,
                        "space", self.duplicate_spaces)
            loaded.space_heads.append(_head(space))
            self._inside(i, space)

    def _first(
        self, path: str, value: str, index: int, seen: dict[str, int], kind: str,
        into: list[Problem],
    ) -> None:
        if value in seen:
            into.append(self._duplicate(path, value, seen[value], index, kind))
        else:
            seen[value] = index

    def _duplicate(self, path: str, value: str, first: int, index: int, kind: str) -> Problem:
        return Problem(
            f"{kind} {value!r} is declared twice (first at {self.where(f'{path}[{first}]')})",
            self.where(f"{path}[{index}]"),
            f"keep one declaration of {kind} {value!r}",
        )

    def _duplicates(self, values: list[str], path: str, kind: str) -> Iterator[Problem]:
        seen: dict[str, int] = {}
        for index, value in enumerate(values):
            if value in seen:
                yield self._duplicate(path, value, seen[value], index, kind)
            else:
                seen[value] = index

    def _inside(self, i: int, space: SpaceDecl) -> None:
        base = f"spaces[{i}]"
        self.inside_spaces += [
            *self._duplicates([m.email.lower() for m in space.members], f"{base}.members",
                              "member"),
            *self._duplicates([p.name for p in space.projects], f"{base}.projects", "project"),
            *self._duplicates([k.name for k in space.service_keys], f"{base}.service_keys",
                              "key"),
        ]
        for j, project in enumerate(space.projects):
            self.inside_spaces += self._duplicates(
                [b.email.lower() for b in project.bindings], f"{base}.projects[{j}].bindings",
                "binding of",
            )
        for j, member in enumerate(space.members):
            self._use(f"{base}.members[{j}]", member.role)
        for j, project in enumerate(space.projects):
            for k, binding in enumerate(project.bindings):
                self._use(f"{base}.projects[{j}].bindings[{k}]", binding.role)

    def _use(self, path: str, role: str) -> None:
        if not predefined_name(role) and role not in self.role_names:
            self.role_uses.append((path, role))

    def finish(self) -> Iterator[Problem]:
        loaded, where = self.loaded, self.where
        yield from self._duplicates([r.name for r in loaded.roles], "roles", "role")
        yield from self._duplicates([r.id for r in loaded.roles if r.id], "roles", "role id")
        yield from self.duplicate_users
        yield from self.duplicate_spaces
        yield from self.inside_spaces

        declared_roles = {r.name for r in loaded.roles}
        if loaded.ownership.roles is Ownership.AUTHORITATIVE:
            known_roles = ", ".join([*PREDEFINED_SPACE_ROLES, *sorted(declared_roles)])
            # Spaces' uses first, then top-level bindings', as the joined files list them.
            uses = sorted(self.role_uses, key=lambda use: use[0].startswith("bindings"))
            for path, role in uses:
                if role not in declared_roles:
                    yield Problem(
                        f"{path}.role: unknown role {role!r}",
                        where(f"{path}.role"),
                        f"use one of {known_roles}, or declare it under roles",
                    )

        declared_spaces = {s.name for s in loaded.space_heads}
        counts = Counter(s.name for s in loaded.space_heads)
        for i, binding in enumerate(loaded.bindings):
            path = f"bindings[{i}]"
            kind = "project_bindings" if binding.project else "space_members"
            closed = getattr(loaded.ownership, kind) is Ownership.AUTHORITATIVE
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
