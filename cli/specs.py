"""Read a runbook spec file: YAML errors and validation errors point at the file's line.

Validation runs here, before any flow run exists, so a broken spec changes nothing, not even
Prefect's run history.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from cli.errors import CliError

# Model-level validators name the field they judge at the start of their message.
_FIELD_PREFIX = re.compile(r"^(?P<path>[A-Za-z_][\w]*(?:(?:\[\d+\])|(?:\.[A-Za-z_]\w*))*): ")


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """The document and its node tree (for line numbers).

    Raises:
        CliError: the file cannot be read or is not valid YAML (with line and column).
    """
    try:
        text = path.read_text()
    except OSError as ex:
        raise CliError(f"cannot read {path}: {ex.strerror}", fix="check the path") from None
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.MarkedYAMLError as ex:
        mark = ex.problem_mark or ex.context_mark
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        problem = " ".join(p for p in (ex.context, ex.problem) if p)
        raise CliError(
            f"{path} is not valid YAML: {problem}",
            where=where,
            fix="fix the YAML at that position (indentation, a missing ':' or quote)",
        ) from None
    except yaml.YAMLError as ex:
        raise CliError(f"{path} is not valid YAML: {ex}", where=str(path)) from None


def load_spec(path: Path, model: type[BaseModel]) -> BaseModel:
    """Read and validate ``path`` as ``model``.

    Raises:
        CliError: bad YAML, not a mapping, or fields that fail validation (each named with
            its line in the file).
    """
    data, root = read_yaml(path)
    if not isinstance(data, dict):
        raise CliError(
            f"{path} must hold a mapping of spec fields, not {type(data).__name__}",
            where=str(path),
            fix=f"start from the example spec for this runbook ({model.__name__})",
        )
    try:
        return model.model_validate(data)
    except ValidationError as ex:
        raise validation_error(path, root, ex) from None


def validation_error(path: Path, root: yaml.Node | None, ex: ValidationError) -> CliError:
    """One :class:`CliError` listing every failing field, the first one in ``what``."""
    lines = [_describe(path, root, e) for e in ex.errors(include_url=False)]
    first, *rest = lines
    return CliError(
        first[0],
        where=first[1],
        fix="correct the field(s) and run again; nothing was changed",
        details=[f"{what} ({where})" for what, where in rest],
    )


def _describe(path: Path, root: yaml.Node | None, error: dict[str, Any]) -> tuple[str, str]:
    loc = tuple(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    match = _FIELD_PREFIX.match(message)
    if match:
        # A model validator named the field itself: "members[0].space_role: ...".
        loc = loc + _parse_path(match["path"])
        message = message[match.end() :]
    kind = error["type"]
    if kind == "missing":
        message = "is required but missing"
    elif kind == "extra_forbidden":
        message = "is not a field of this spec; remove it or check its spelling"
    elif not match and isinstance(error.get("input"), str | int | float | bool):
        message = f"{message} (got {error['input']!r})"
    dotted = ".".join(str(p) for p in ("spec", *loc))
    line = _line_of(root, loc)
    where = f"{path}, line {line}" if line else str(path)
    return f"{dotted}: {message}", where


def _parse_path(text: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for name, index in re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", text):
        parts.append(int(index) if index else name)
    return tuple(parts)


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest node of ``loc`` present in the YAML."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(
                ((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)
                 and k.value == str(part)),
                None,
            )
            if found is None:
                break
            key, node = found
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
