"""The routing file's expression language: ``{{ path | filter }}`` templates over an event.

Templates are strings with ``{{ expression }}`` parts; a string that is exactly one expression
keeps the value's type (a list stays a list). An expression is a path from ``payload`` (the
event body; for Okta one ``data.events[]`` entry, for BambooHR one employee), ``event``
(``source``, ``event_id``, ``event_type``, ``delivery_id``) or, inside ``$each``, ``item``;
segments are ``.name``, ``[0]`` and ``[key=value]`` (the first list element whose ``key``
equals ``value``), followed by filters: ``default(x)``, ``lower``, ``upper``, ``strip``,
``first``, ``last``, ``string``, ``join(sep)``, ``split(sep)``, ``bool``.
``{"$each": "{{ path }}", "$as": template}`` renders the template once per list element (bound
to ``item``).

A template is compiled once (:class:`Template`) when the routing file loads, so a mistake is
reported at start-up naming where it is, and rendered per event. Nothing here knows of routes,
sources or flows: :mod:`webhooks.routing` holds the rules that use it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_ROOTS = frozenset({"payload", "event", "item"})
_NAME = r"[A-Za-z_][\w-]*"
_SEGMENT = re.compile(rf"\.({_NAME})|\[(-?\d+)\]|\[({_NAME})=([^\]]*)\]")
_FILTER = re.compile(rf"^({_NAME})(?:\((.*)\))?$", re.DOTALL)
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


class TemplateError(ValueError):
    """An expression or template that cannot be parsed, or fails on an event; the message
    says where (``spec.email: unknown filter 'lowr'``)."""


# --- expressions -----------------------------------------------------------------------------


def _literal(text: str) -> Any:
    text = text.strip()
    lowered = {"true": True, "false": False, "null": None, "none": None}
    if text.lower() in lowered:
        return lowered[text.lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise TemplateError(f"not a literal: {text!r}") from exc


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


_FILTERS: dict[str, tuple[int, Callable[..., Any]]] = {
    "default": (1, lambda v, d: d if v is None or v == "" else v),
    "lower": (0, lambda v: v.lower() if isinstance(v, str) else v),
    "upper": (0, lambda v: v.upper() if isinstance(v, str) else v),
    "strip": (0, lambda v: v.strip() if isinstance(v, str) else v),
    "first": (0, lambda v: (_as_list(v) or [None])[0]),
    "last": (0, lambda v: (_as_list(v) or [None])[-1]),
    "string": (0, lambda v: "" if v is None else str(v)),
    "join": (1, lambda v, sep: sep.join("" if x is None else str(x) for x in _as_list(v))),
    "split": (
        1,
        lambda v, sep: [p.strip() for p in v.split(sep) if p.strip()] if isinstance(v, str) else v,
    ),
    "bool": (0, lambda v: _truthy(v)),
}


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _split_pipes(text: str) -> list[str]:
    parts, current, quote = [], [], ""
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            current.append(char)
        elif char == "|":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if quote:
        raise TemplateError("unterminated string")
    parts.append("".join(current))
    return [p.strip() for p in parts]


@dataclass(frozen=True)
class Expression:
    """A parsed ``path | filter | ...`` expression."""

    root: str | None
    segments: tuple[tuple[str, Any], ...]
    constant: Any
    filters: tuple[tuple[str, tuple[Any, ...]], ...]

    @classmethod
    def parse(cls, text: str) -> Expression:
        head, *filter_texts = _split_pipes(text)
        if not head:
            raise TemplateError("empty expression")
        root: str | None = None
        segments: list[tuple[str, Any]] = []
        constant: Any = None
        match = re.match(_NAME, head)
        if match and head not in {"true", "false", "null", "none", "True", "False", "None"}:
            root = match.group(0)
            if root not in _ROOTS:
                raise TemplateError(
                    f"unknown root {root!r} in {head!r}; paths start with payload, event or item"
                )
            rest = head[match.end() :]
            position = 0
            while position < len(rest):
                seg = _SEGMENT.match(rest, position)
                if seg is None:
                    raise TemplateError(f"cannot parse path {head!r} at {rest[position:]!r}")
                if seg.group(1) is not None:
                    segments.append(("key", seg.group(1)))
                elif seg.group(2) is not None:
                    segments.append(("index", int(seg.group(2))))
                else:
                    value = seg.group(4).strip()
                    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                        value = value[1:-1]
                    segments.append(("select", (seg.group(3), value)))
                position = seg.end()
        else:
            constant = _literal(head)
        filters: list[tuple[str, tuple[Any, ...]]] = []
        for filter_text in filter_texts:
            fmatch = _FILTER.match(filter_text)
            if fmatch is None:
                raise TemplateError(f"cannot parse filter {filter_text!r}")
            name, arg_text = fmatch.group(1), fmatch.group(2)
            if name not in _FILTERS:
                raise TemplateError(
                    f"unknown filter {name!r}; known: {', '.join(sorted(_FILTERS))}"
                )
            arity = _FILTERS[name][0]
            args = () if arg_text is None or not arg_text.strip() else (_literal(arg_text),)
            if len(args) != arity:
                raise TemplateError(f"filter {name!r} takes {arity} argument(s)")
            filters.append((name, args))
        return cls(root, tuple(segments), constant, tuple(filters))

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        if self.root is None:
            value = self.constant
        else:
            value = context.get(self.root)
            for kind, arg in self.segments:
                value = _step(value, kind, arg)
        for name, args in self.filters:
            value = _FILTERS[name][1](value, *args)
        return value


def _step(value: Any, kind: str, arg: Any) -> Any:
    if value is None:
        return None
    if kind == "key":
        return value.get(arg) if isinstance(value, Mapping) else None
    if kind == "index":
        if isinstance(value, list) and -len(value) <= arg < len(value):
            return value[arg]
        return None
    key, wanted = arg
    if isinstance(value, list):
        for element in value:
            if isinstance(element, Mapping) and str(element.get(key)) == wanted:
                return element
    return None


class Template:
    """A compiled parameter template: nested dicts/lists of literals and ``{{ }}`` strings."""

    def __init__(self, source: Any) -> None:
        self._compiled = _compile(source, ())

    def render(self, context: Mapping[str, Any]) -> Any:
        return _render(self._compiled, context, ())


def _loc(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _compile(node: Any, path: tuple[str | int, ...]) -> Any:
    try:
        if isinstance(node, str):
            whole = _PLACEHOLDER.fullmatch(node.strip())
            if whole and node.count("{{") == 1:
                return ("expr", Expression.parse(whole.group(1)))
            if "{{" not in node:
                return ("const", node)
            parts: list[Any] = []
            position = 0
            for match in _PLACEHOLDER.finditer(node):
                parts.append(node[position : match.start()])
                parts.append(Expression.parse(match.group(1)))
                position = match.end()
            parts.append(node[position:])
            if "{{" in node[position:] or "}}" in node[position:]:
                raise TemplateError("unbalanced '{{' / '}}'")
            return ("interp", tuple(parts))
        if isinstance(node, Mapping):
            if "$each" in node:
                if set(node) != {"$each", "$as"}:
                    raise TemplateError("'$each' takes exactly the keys '$each' and '$as'")
                each = _compile(node["$each"], (*path, "$each"))
                if each[0] != "expr":
                    raise TemplateError("'$each' must be a single '{{ path }}' expression")
                return ("each", each[1], _compile(node["$as"], (*path, "$as")))
            return ("dict", tuple((str(k), _compile(v, (*path, str(k)))) for k, v in node.items()))
        if isinstance(node, list):
            return ("list", tuple(_compile(v, (*path, i)) for i, v in enumerate(node)))
        return ("const", node)
    except TemplateError as exc:
        if getattr(exc, "located", False):
            raise
        located = TemplateError(f"{_loc(path)}: {exc}" if path else str(exc))
        located.located = True  # type: ignore[attr-defined]
        raise located from exc


def _render(node: Any, context: Mapping[str, Any], path: tuple[str | int, ...]) -> Any:
    kind = node[0]
    try:
        if kind == "const":
            return node[1]
        if kind == "expr":
            return node[1].evaluate(context)
        if kind == "interp":
            return "".join(
                p if isinstance(p, str) else ("" if (v := p.evaluate(context)) is None else str(v))
                for p in node[1]
            )
        if kind == "dict":
            return {k: _render(v, context, (*path, k)) for k, v in node[1]}
        if kind == "list":
            return [_render(v, context, (*path, i)) for i, v in enumerate(node[1])]
        if kind == "each":
            items = node[1].evaluate(context)
            return [
                _render(node[2], {**context, "item": item}, (*path, i))
                for i, item in enumerate(_as_list(items))
            ]
    except (TypeError, AttributeError, ValueError) as exc:
        raise TemplateError(f"{_loc(path)}: {exc}") from exc
    raise AssertionError(kind)  # pragma: no cover


def check_template(node: Any) -> None:
    """Compile ``node`` to find its mistakes (a config validator's check).

    Raises:
        ValueError: naming where the mistake is and what it is.
    """
    try:
        _compile(node, ())
    except TemplateError as exc:
        raise ValueError(str(exc)) from exc


def check_expression(text: str) -> None:
    """Parse one expression (a condition's ``field``) to find its mistakes.

    Raises:
        ValueError: what cannot be parsed.
    """
    try:
        Expression.parse(text)
    except TemplateError as exc:
        raise ValueError(str(exc)) from exc
