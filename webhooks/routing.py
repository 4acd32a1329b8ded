"""Routing is configuration: a YAML file maps (source, event type, conditions) to a deployment.

```yaml
routes:
  - name: okta-leaver
    source: okta
    event_type: [user.lifecycle.deactivate, user.lifecycle.suspend]
    conditions:
      - {field: payload.outcome.result, equals: SUCCESS}
    deployment: offboard-user/offboard-user
    parameters:
      spec:
        email: "{{ payload.target[type=User].alternateId | lower }}"
        reason: "Okta {{ payload.eventType }}"
      dry_run: false
    trigger:
      requested_by: "{{ payload.actor.alternateId }}"
```

The first route whose source, event type and every condition match wins. Templates are
strings with ``{{ expression }}`` parts; a string that is exactly one expression keeps the
value's type (a list stays a list). An expression is a path from ``payload`` (the event body;
for Okta one ``data.events[]`` entry, for BambooHR one employee), ``event`` (``source``,
``event_id``, ``event_type``, ``delivery_id``) or, inside ``$each``, ``item``; segments are
``.name``, ``[0]`` and ``[key=value]`` (the first list element whose ``key`` equals ``value``),
followed by filters: ``default(x)``, ``lower``, ``upper``, ``strip``, ``first``, ``last``,
``string``, ``join(sep)``, ``split(sep)``, ``bool``. ``{"$each": "{{ path }}", "$as": template}``
renders the template once per list element (bound to ``item``).

Flow parameters are whitelisted: a route may set ``spec`` and ``dry_run``; ``trigger`` is
always added by the service (source, event id, plus the route's ``ticket`` and
``requested_by`` templates). Unknown keys would pass Prefect's schema check and crash the run.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tasks.triggers import Trigger

#: Flow parameters a route may set; ``trigger`` is added by the service.
ALLOWED_PARAMETERS = frozenset({"spec", "dry_run"})

_ROOTS = frozenset({"payload", "event", "item"})
_NAME = r"[A-Za-z_][\w-]*"
_SEGMENT = re.compile(rf"\.({_NAME})|\[(-?\d+)\]|\[({_NAME})=([^\]]*)\]")
_FILTER = re.compile(rf"^({_NAME})(?:\((.*)\))?$", re.DOTALL)
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


class RoutingConfigError(ValueError):
    """The routing file is invalid; ``errors`` holds one ``location: message`` line each."""

    def __init__(self, path: str | Path | None, errors: list[str]) -> None:
        self.path = None if path is None else str(path)
        self.errors = errors
        where = f"{self.path}: " if self.path else ""
        super().__init__(f"{where}invalid routing config:\n  " + "\n  ".join(errors))


class Unroutable(Exception):
    """The event matches no route, or its route cannot render parameters from it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _TemplateError(ValueError):
    pass


# --- expressions -----------------------------------------------------------------------------


def _literal(text: str) -> Any:
    text = text.strip()
    lowered = {"true": True, "false": False, "null": None, "none": None}
    if text.lower() in lowered:
        return lowered[text.lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise _TemplateError(f"not a literal: {text!r}") from exc


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
        raise _TemplateError("unterminated string")
    parts.append("".join(current))
    return [p.strip() for p in parts]


@dataclass(frozen=True)
class _Expression:
    """A parsed ``path | filter | ...`` expression."""

    root: str | None
    segments: tuple[tuple[str, Any], ...]
    constant: Any
    filters: tuple[tuple[str, tuple[Any, ...]], ...]

    @classmethod
    def parse(cls, text: str) -> _Expression:
        head, *filter_texts = _split_pipes(text)
        if not head:
            raise _TemplateError("empty expression")
        root: str | None = None
        segments: list[tuple[str, Any]] = []
        constant: Any = None
        match = re.match(_NAME, head)
        if match and head not in {"true", "false", "null", "none", "True", "False", "None"}:
            root = match.group(0)
            if root not in _ROOTS:
                raise _TemplateError(
                    f"unknown root {root!r} in {head!r}; paths start with payload, event or item"
                )
            rest = head[match.end() :]
            position = 0
            while position < len(rest):
                seg = _SEGMENT.match(rest, position)
                if seg is None:
                    raise _TemplateError(f"cannot parse path {head!r} at {rest[position:]!r}")
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
                raise _TemplateError(f"cannot parse filter {filter_text!r}")
            name, arg_text = fmatch.group(1), fmatch.group(2)
            if name not in _FILTERS:
                raise _TemplateError(
                    f"unknown filter {name!r}; known: {', '.join(sorted(_FILTERS))}"
                )
            arity = _FILTERS[name][0]
            args = () if arg_text is None or not arg_text.strip() else (_literal(arg_text),)
            if len(args) != arity:
                raise _TemplateError(f"filter {name!r} takes {arity} argument(s)")
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


# --- templates -------------------------------------------------------------------------------


class _Template:
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
                return ("expr", _Expression.parse(whole.group(1)))
            if "{{" not in node:
                return ("const", node)
            parts: list[Any] = []
            position = 0
            for match in _PLACEHOLDER.finditer(node):
                parts.append(node[position : match.start()])
                parts.append(_Expression.parse(match.group(1)))
                position = match.end()
            parts.append(node[position:])
            if "{{" in node[position:] or "}}" in node[position:]:
                raise _TemplateError("unbalanced '{{' / '}}'")
            return ("interp", tuple(parts))
        if isinstance(node, Mapping):
            if "$each" in node:
                if set(node) != {"$each", "$as"}:
                    raise _TemplateError("'$each' takes exactly the keys '$each' and '$as'")
                each = _compile(node["$each"], (*path, "$each"))
                if each[0] != "expr":
                    raise _TemplateError("'$each' must be a single '{{ path }}' expression")
                return ("each", each[1], _compile(node["$as"], (*path, "$as")))
            return ("dict", tuple((str(k), _compile(v, (*path, str(k)))) for k, v in node.items()))
        if isinstance(node, list):
            return ("list", tuple(_compile(v, (*path, i)) for i, v in enumerate(node)))
        return ("const", node)
    except _TemplateError as exc:
        if getattr(exc, "located", False):
            raise
        located = _TemplateError(f"{_loc(path)}: {exc}" if path else str(exc))
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
        raise _TemplateError(f"{_loc(path)}: {exc}") from exc
    raise AssertionError(kind)  # pragma: no cover


# --- configuration models --------------------------------------------------------------------


class Condition(BaseModel):
    """One test on a field of the event; exactly one of equals / in / contains / exists."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    field: str = Field(description="Path into the event, e.g. payload.issue.fields.labels.")
    equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    contains: Any = None
    exists: bool | None = None

    @field_validator("field")
    @classmethod
    def _parse_field(cls, value: str) -> str:
        try:
            _Expression.parse(value)
        except _TemplateError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        operators = ("equals", "in_", "contains", "exists")
        given = [name for name in operators if name in self.model_fields_set]
        if len(given) != 1:
            raise ValueError("give exactly one of: equals, in, contains, exists")
        return self

    def matches(self, context: Mapping[str, Any]) -> bool:
        """Whether the event satisfies this condition."""
        value = _Expression.parse(self.field).evaluate(context)
        if "exists" in self.model_fields_set:
            return (value is not None) is bool(self.exists)
        if "equals" in self.model_fields_set:
            return value == self.equals
        if "in_" in self.model_fields_set:
            return value in (self.in_ or [])
        if isinstance(value, str):
            return isinstance(self.contains, str) and self.contains in value
        if isinstance(value, list):
            return self.contains in value
        return False


class TriggerTemplate(BaseModel):
    """The route's part of the run's ``trigger`` parameter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ticket: str | None = Field(default=None, description="Template for the ticket key.")
    requested_by: str | None = Field(default=None, description="Template for the requester.")


class Route(BaseModel):
    """One routing rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, description="Shown in errors and in the inbox.")
    source: str = Field(description="The webhook source: the name of a module of webhooks/sources.")
    event_type: str | list[str] = Field(description="Event type(s) this route takes; '*' = any.")
    conditions: list[Condition] = Field(default_factory=list)
    deployment: str = Field(
        pattern=r"^[^/\s]+/[^/\s]+$", description="'<flow-name>/<deployment-name>'."
    )
    parameters: dict[str, Any] = Field(description="Templates of the flow parameters.")
    trigger: TriggerTemplate = Field(default_factory=TriggerTemplate)

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        from webhooks.sources import SOURCES  # the sources import the receiver, which imports us

        if value not in SOURCES:
            raise ValueError(f"unknown source {value!r}; use one of: {', '.join(SOURCES)}")
        return value

    @field_validator("parameters")
    @classmethod
    def _whitelisted(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - ALLOWED_PARAMETERS)
        if unknown:
            raise ValueError(
                f"unknown flow parameter(s) {unknown}; a route may set only "
                f"{sorted(ALLOWED_PARAMETERS)} (trigger is added by the service)"
            )
        if "spec" not in value:
            raise ValueError("'spec' is required")
        try:
            _compile(value, ())
        except _TemplateError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("trigger")
    @classmethod
    def _trigger_templates(cls, value: TriggerTemplate) -> TriggerTemplate:
        try:
            _compile(value.model_dump(), ())
        except _TemplateError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @property
    def event_types(self) -> tuple[str, ...]:
        """The event types as a tuple."""
        return (self.event_type,) if isinstance(self.event_type, str) else tuple(self.event_type)


class RoutingConfig(BaseModel):
    """The whole routing file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: list[Route] = Field(default_factory=list)


@dataclass(frozen=True)
class RoutedEvent:
    """Where an event goes."""

    route: str
    deployment: str
    parameters: dict[str, Any]


def _format_errors(raw: Any, exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors():
        loc = error["loc"]
        parts = []
        for i, part in enumerate(loc):
            if isinstance(part, int):
                parts.append(f"[{part}]")
                if i >= 1 and loc[i - 1] == "routes":
                    name = _route_name(raw, part)
                    if name:
                        parts.append(f" ({name})")
            else:
                parts.append(f".{part}" if parts else str(part))
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{''.join(parts) or '(root)'}: {message}")
    return lines


def _route_name(raw: Any, index: int) -> str | None:
    try:
        name = raw["routes"][index].get("name")
    except (TypeError, KeyError, IndexError, AttributeError):
        return None
    return name if isinstance(name, str) else None


class Router:
    """Matches events against a validated routing config and renders their parameters."""

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config
        self._compiled = [
            (
                route,
                _Template(route.parameters),
                _Template(route.trigger.model_dump()),
            )
            for route in config.routes
        ]

    @classmethod
    def empty(cls) -> Router:
        """A router without routes: every event is dead-lettered as unroutable."""
        return cls(RoutingConfig())

    @classmethod
    def from_data(cls, data: Any, *, path: str | Path | None = None) -> Router:
        """Validate already-parsed YAML/JSON data.

        Raises:
            RoutingConfigError: with one line per problem, naming the route index and field.
        """
        if data is None:
            data = {}
        try:
            config = RoutingConfig.model_validate(data)
        except ValidationError as exc:
            raise RoutingConfigError(path, _format_errors(data, exc)) from None
        return cls(config)

    @classmethod
    def from_yaml(cls, text: str, *, path: str | Path | None = None) -> Router:
        """Parse and validate routing YAML text."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RoutingConfigError(path, [f"not valid YAML: {exc}"]) from None
        return cls.from_data(data, path=path)

    @classmethod
    def from_file(cls, path: str | Path) -> Router:
        """Load and validate a routing YAML file."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise RoutingConfigError(path, [f"cannot read: {exc.strerror or exc}"]) from None
        return cls.from_yaml(text, path=path)

    def route(
        self,
        *,
        source: str,
        event_id: str,
        event_type: str,
        payload: Any,
        delivery_id: str | None = None,
    ) -> RoutedEvent:
        """Find the first matching route and render the flow parameters.

        Raises:
            Unroutable: no route matches, or the matching route's templates fail on this event.
        """
        context = {
            "payload": payload,
            "event": {
                "source": source,
                "event_id": event_id,
                "event_type": event_type,
                "delivery_id": delivery_id,
            },
        }
        for index, (route, parameters, trigger) in enumerate(self._compiled):
            if route.source != source:
                continue
            if "*" not in route.event_types and event_type not in route.event_types:
                continue
            if not all(condition.matches(context) for condition in route.conditions):
                continue
            label = route.name or f"routes[{index}]"
            try:
                rendered = parameters.render(context)
                extra = trigger.render(context)
            except _TemplateError as exc:
                raise Unroutable(f"route {label}: cannot render {exc}") from None
            dry_run = rendered.get("dry_run", False)
            if not isinstance(dry_run, bool):
                raise Unroutable(f"route {label}: dry_run rendered to {dry_run!r}, not a boolean")
            rendered["dry_run"] = dry_run
            # Signed, so the flow believes it (and the requester it names) came from here.
            rendered["trigger"] = (
                Trigger(
                    source=source,
                    event_id=event_id,
                    ticket=_optional_str(extra.get("ticket")),
                    requested_by=_optional_str(extra.get("requested_by")),
                )
                .signed()
                .model_dump(
                    mode="json",
                    include={"source", "event_id", "ticket", "requested_by", "signature"},
                )
            )
            return RoutedEvent(route=label, deployment=route.deployment, parameters=rendered)
        raise Unroutable(f"no route matches {source} event type {event_type!r}")


def _optional_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)
