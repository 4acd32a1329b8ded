"""Batched forwarding: several events of a route, one flow run (a route's ``batch:``).

A flow run is a process on a worker (seconds of CPU), while an item of onboard-team's member
list is a few API calls: an IdP's initial import of 1,000 people as 1,000 runs would keep two
cores busy for over an hour. A route with ``batch: {items: spec.members}`` lets the forwarder
send the events of one pass that differ only in that list as one run whose list is theirs end
to end, in inbox order.

Exactly once, batch or not, rests on the inbox (:mod:`webhooks.forwarder`):

1. the batch is chosen and its key written on every member in one transaction
   (:meth:`~webhooks.inbox.Inbox.assign_batch`), by the forwarder holding their claims;
2. the run is created with that key as its idempotency key;
3. every member is marked forwarded with the run's id.

Cut off anywhere, whoever claims a member next finds its key, reads the whole batch back
(:meth:`~webhooks.inbox.Inbox.batch`), rebuilds the same parameters and asks for the run with
the same key: Prefect answers with the run already made, if any. An event with a key is never
put in another batch. A batch of one is keyed by its event's own idempotency key, so it is
forwarded exactly as an unbatched event is.

This module holds the pure part: which events may go together, how a batch is cut, and the
run's parameters. The trigger of a batched run names the batch key as its event id (the
events are found from it with ``inbox.batch``), signed like any other.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Sequence
from typing import Any

from tasks.triggers import Trigger
from webhooks.inbox_records import InboxEvent
from webhooks.routing import Batch

#: Marks a batch key of several events (the list path and a random part follow it).
_MARK = "batch"

#: What the trigger of every event holds that differs per event; a batch has its own.
_PER_EVENT_TRIGGER = ("event_id", "signature")


def items_at(parameters: dict[str, Any], path: Sequence[str]) -> list[Any] | None:
    """The list at ``path`` in rendered parameters (None: there is none)."""
    node: Any = parameters
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, list) else None


def _with_items(parameters: dict[str, Any], path: Sequence[str], items: Any) -> dict[str, Any]:
    out = copy.deepcopy(parameters)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = items
    return out


def group_key(route: str, deployment: str, parameters: dict[str, Any], batch: Batch) -> str:
    """Events with equal group keys may share a run: same route, same deployment, and the
    same parameters once the list and the per-event part of the trigger are set aside."""
    rest = _with_items(parameters, batch.path, None)
    trigger = rest.get("trigger")
    if isinstance(trigger, dict):
        rest["trigger"] = {k: v for k, v in trigger.items() if k not in _PER_EVENT_TRIGGER}
    return json.dumps([route, deployment, rest], sort_keys=True, default=str)


def cut(events: Sequence[InboxEvent], batch: Batch) -> list[list[InboxEvent]]:
    """Cut one group's events (inbox order) into runs: in order, at most ``max_items`` items
    a run (an event is never split: one larger than that is a run of its own), and no
    ``unique_by`` value twice in a run (the later event starts the next run, so each item is
    still applied after the ones received before it)."""
    runs: list[list[InboxEvent]] = []
    current: list[InboxEvent] = []
    count = 0
    seen: set[str] = set()
    for event in events:
        items = items_at(event.parameters or {}, batch.path) or []
        keys = _unique_values(items, batch.unique_by)
        clash = bool(keys & seen)
        if current and (count + len(items) > batch.max_items or clash):
            runs.append(current)
            current, count, seen = [], 0, set()
        current.append(event)
        count += len(items)
        seen |= keys
    if current:
        runs.append(current)
    return runs


def _unique_values(items: list[Any], field: str | None) -> set[str]:
    # A value repeated within one event's own list is left alone: that event would fail the
    # same way unbatched, and saying so is the runbook's job.
    # Strings compare without regard to case: e-mail addresses are, to onboard-team and to
    # Arize. Erring this way only ever splits a batch more, never merges what should not be.
    if field is None:
        return set()
    return {
        value.casefold() if isinstance(value, str) else json.dumps(value, sort_keys=True)
        for item in items
        if isinstance(item, dict) and (value := item.get(field)) is not None
    }


def new_key(members: Sequence[InboxEvent], batch: Batch) -> str:
    """The idempotency key of a new batch: the event's own for a batch of one; otherwise
    fresh (a member leaving a dead batch by a replay must never find that batch's run again),
    naming the list it concatenates, so the batch can be rebuilt whatever the routing file
    says by then: ``<source>:batch:<items>:<random>``."""
    if len(members) == 1:
        return members[0].idempotency_key
    return f"{members[0].source}:{_MARK}:{batch.items}:{uuid.uuid4().hex}"


def items_path(key: str) -> tuple[str, ...]:
    """The list a batch key's run concatenates (empty for a batch of one, keyed by its event)."""
    parts = key.split(":")
    if len(parts) >= 4 and parts[-3] == _MARK:
        return tuple(parts[-2].split("."))
    return ()


def run_parameters(members: Sequence[InboxEvent], path: Sequence[str], key: str) -> dict[str, Any]:
    """The batch's run parameters: the first member's, its list replaced by every member's
    list end to end (inbox order), and a trigger naming the batch.

    Raises:
        ValueError: a member has no parameters or no list at ``path`` (routed afresh with a
            routing file that no longer batches it: the caller forwards what it can).
    """
    first = members[0].parameters
    if first is None:
        raise ValueError(f"event {members[0].id} has no parameters")
    if len(members) == 1 and key == members[0].idempotency_key:
        return first
    if not path:
        raise ValueError(f"{key!r} is not the key of a batch of several events")
    items: list[Any] = []
    for member in members:
        found = items_at(member.parameters or {}, path)
        if found is None:
            raise ValueError(f"event {member.id} has no list at {'.'.join(path)}")
        items.extend(found)
    parameters = _with_items(first, path, items)
    trigger = first.get("trigger") if isinstance(first.get("trigger"), dict) else {}
    parameters["trigger"] = (
        Trigger(
            source=members[0].source,
            event_id=key,
            ticket=trigger.get("ticket"),
            requested_by=trigger.get("requested_by"),
        )
        .signed()
        .model_dump(
            mode="json", include={"source", "event_id", "ticket", "requested_by", "signature"}
        )
    )
    return parameters
