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

The first route whose source, event type and every condition match wins. Parameters, the
trigger's templates and conditions' fields are written in the expression language of
:mod:`webhooks.expressions` (``{{ payload.path | filter }}``).

Flow parameters are whitelisted: a route may set ``spec`` and ``dry_run``; ``trigger`` is
always added by the service (source, event id, plus the route's ``ticket`` and
``requested_by`` templates). Unknown keys would pass Prefect's schema check and crash the run.

A route may ``batch`` its events (:class:`Batch`): the forwarder then starts one run for
several events whose parameters differ only in one list (``spec.members``), that list being
the events' lists end to end. The forwarder does the grouping (:mod:`webhooks.batching`); the
router only says which route an event took and how it may be batched.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tasks.triggers import Trigger
from webhooks.expressions import (
    Expression,
    Template,
    TemplateError,
    check_expression,
    check_template,
)

#: Flow parameters a route may set; ``trigger`` is added by the service.
ALLOWED_PARAMETERS = frozenset({"spec", "dry_run"})



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
        check_expression(value)
        return value

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        operators = ("equals", "in_", "contains", "exists")
        given = [name for name in operators if name in self.model_fields_set]
        if len(given) != 1:
            raise ValueError("give exactly one of: equals, in, contains, exists")
        return self

    @functools.cached_property
    def expression(self) -> Expression:
        """The parsed ``field``: parsed once, not once per event matched."""
        return Expression.parse(self.field)

    def matches(self, context: Mapping[str, Any]) -> bool:
        """Whether the event satisfies this condition."""
        value = self.expression.evaluate(context)
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


class Batch(BaseModel):
    """How a route's events are forwarded together: one run for many events.

    Events of the route whose rendered parameters are equal but for the list at ``items``
    become one flow run whose list is their lists end to end, in the order the inbox received
    them. Worth it where a run costs far more than an item of its list (a process per run);
    only for runbooks that treat the list as independent items (onboard-team's members).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: str = Field(
        description="Dotted path of the list parameter to concatenate, e.g. spec.members."
    )
    max_items: int = Field(
        default=100, ge=1, le=10_000, description="Most list items in one run."
    )
    unique_by: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][\w-]*$",
        description=(
            "A field of the items that must not repeat in one run (onboard-team refuses a "
            "member listed twice): an event whose item repeats one already in the batch goes "
            "to the next run instead. Text is compared without regard to case."
        ),
    )
    wait_seconds: float = Field(
        default=0.0,
        ge=0.0,
        le=300.0,
        description=(
            "Hold a batch that is not full for up to this long after its first event "
            "arrived, so a burst fills it. 0: forward whatever is pending at once."
        ),
    )

    @field_validator("items")
    @classmethod
    def _dotted(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*", value):
            raise ValueError(
                f"{value!r} is not a dotted path of parameter names; write e.g. spec.members"
            )
        return value

    @property
    def path(self) -> tuple[str, ...]:
        """``items`` split into its keys."""
        return tuple(self.items.split("."))


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
    batch: Batch | None = Field(
        default=None, description="Forward several events of this route as one run."
    )

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        from webhooks.sources import SOURCES  # the sources import the receiver, which imports us

        # "scim": the events of the SCIM endpoint (webhooks/scim), not a webhook source.
        if value not in SOURCES and value != "scim":
            raise ValueError(
                f"unknown source {value!r}; use one of: {', '.join([*SOURCES, 'scim'])}"
            )
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
        check_template(value)
        return value

    @field_validator("trigger")
    @classmethod
    def _trigger_templates(cls, value: TriggerTemplate) -> TriggerTemplate:
        check_template(value.model_dump())
        return value

    @model_validator(mode="after")
    def _batch_names_a_list(self) -> Route:
        if self.batch is not None:
            problem = _list_problem(self.parameters, self.batch.path)
            if problem is not None:
                raise ValueError(
                    f"batch.items: {self.batch.items!r} {problem}; name a list written out in "
                    "this route's parameters (a YAML list or $each), e.g. spec.members"
                )
        return self

    @property
    def event_types(self) -> tuple[str, ...]:
        """The event types as a tuple."""
        return (self.event_type,) if isinstance(self.event_type, str) else tuple(self.event_type)


def _list_problem(parameters: dict[str, Any], path: tuple[str, ...]) -> str | None:
    """Why ``path`` does not name a list in the parameter templates (None: it does)."""
    node: Any = parameters
    for depth, key in enumerate(path):
        where = ".".join(path[:depth]) or "parameters"
        if isinstance(node, str):
            return (
                f"cannot be checked: {where} is the single template {node!r}, whose shape "
                "is only known per event"
            )
        if not isinstance(node, dict) or "$each" in node:
            return f"goes through {where}, which is not a mapping"
        if key not in node:
            known = ", ".join(sorted(map(str, node))) or "nothing"
            return f"is not in the route's parameters ({where} has {known})"
        node = node[key]
    if isinstance(node, list) or (isinstance(node, dict) and "$each" in node):
        return None
    return f"is {type(node).__name__} {node!r}, not a list"


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


#: A route with its parameter and trigger templates compiled.
_Compiled = tuple[Route, Template, Template]


class Router:
    """Matches events against a validated routing config and renders their parameters."""

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config
        self._compiled: list[_Compiled] = [
            (
                route,
                Template(route.parameters),
                Template(route.trigger.model_dump()),
            )
            for route in config.routes
        ]

    @property
    def routed_sources(self) -> set[str]:
        """The sources that have at least one route."""
        return {route.source for route in self.config.routes}

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

    @classmethod
    def configured(cls, path: str | Path | None) -> Router:
        """The service's router: the routing file's, or one without routes when none is set."""
        return cls.from_file(path) if path else cls.empty()

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
        context = _context(source, event_id, event_type, payload, delivery_id)
        found = self._first_match(source, event_type, context)
        if found is None:
            raise Unroutable(f"no route matches {source} event type {event_type!r}")
        label, (route, parameters, trigger) = found
        try:
            rendered = parameters.render(context)
            extra = trigger.render(context)
        except TemplateError as exc:
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

    def matching_route(
        self,
        *,
        source: str,
        event_id: str,
        event_type: str,
        payload: Any,
        delivery_id: str | None = None,
    ) -> tuple[str, Route] | None:
        """The label and rule of the route :meth:`route` would take, without rendering it
        (None: no route matches). Conditions only read the event, so this is cheap."""
        context = _context(source, event_id, event_type, payload, delivery_id)
        found = self._first_match(source, event_type, context)
        return None if found is None else (found[0], found[1][0])

    def _first_match(
        self, source: str, event_type: str, context: Mapping[str, Any]
    ) -> tuple[str, _Compiled] | None:
        """The label and compiled form of the first route the event matches (None: none)."""
        for index, compiled in enumerate(self._compiled):
            if _matches(compiled[0], source, event_type, context):
                return compiled[0].name or f"routes[{index}]", compiled
        return None


def _context(
    source: str, event_id: str, event_type: str, payload: Any, delivery_id: str | None
) -> dict[str, Any]:
    return {
        "payload": payload,
        "event": {
            "source": source,
            "event_id": event_id,
            "event_type": event_type,
            "delivery_id": delivery_id,
        },
    }


def _matches(route: Route, source: str, event_type: str, context: Mapping[str, Any]) -> bool:
    if route.source != source:
        return False
    if "*" not in route.event_types and event_type not in route.event_types:
        return False
    return all(condition.matches(context) for condition in route.conditions)


def _optional_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)
