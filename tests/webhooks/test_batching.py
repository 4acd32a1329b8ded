"""Batched forwarding (a route's ``batch:``): the events of a route that differ only in one
list become one flow run listing them all, exactly once, on both inbox backends.

Real parts: the Prefect test harness over HTTP (stand-in deployments, their parameter schema
the runbooks' own), SQLite and PostgreSQL inboxes, the SCIM endpoint, and for onboard-team
itself the Arize emulator. A crash is a :class:`Cutoff` raised at the exact point (it is not an
``Exception``, so nothing in the forwarder catches it); a race between replicas is two
forwarders on one inbox, one held at a chosen point while the other runs its pass.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import FlowRun

from tests.webhooks.conftest import replay_until_settled, run_cli, runs_for, uid
from webhooks import batching
from webhooks import forwarder as forwarder_module
from webhooks.forwarder import Forwarder, ForwardSummary
from webhooks.inbox import Inbox
from webhooks.inbox_records import EventStatus, InboxEvent, NewEvent
from webhooks.metrics import Metrics
from webhooks.routing import Batch, Router, RoutingConfigError

ROOT = Path(__file__).resolve().parents[2]
SCIM_ROUTING = ROOT / "examples" / "routing-scim.yaml"

# A joiner route as examples/routing-scim.yaml has it, batched by up to ``max_items``.
JOINERS = """\
routes:
  - name: joiners
    source: scim
    event_type: user.created
    deployment: onboard-team/onboard-team
    parameters:
      spec:
        organization: Acme
        space: general
        members:
          - name: "{{{{ payload.displayName }}}}"
            email: "{{{{ payload.email }}}}"
            space_role: MEMBER
    batch: {batch}
  - name: leavers
    source: scim
    event_type: user.deactivated
    deployment: offboard-user/offboard-user
    parameters:
      spec:
        email: "{{{{ payload.email }}}}"
        reason: "SCIM: deactivated"
"""


def joiners(batch: str = "{items: spec.members, unique_by: email}") -> Router:
    return Router.from_yaml(JOINERS.format(batch=batch))


class Cutoff(BaseException):
    """The forwarder's process dies here (not an Exception: nothing in it catches this)."""


def _person(token: str, *, name: str | None = None) -> dict[str, Any]:
    return {
        "id": token,
        "userName": f"{token}@acme.example",
        "email": f"{token}@acme.example",
        "displayName": f"Person {token}" if name is None else name,
        "active": True,
        "groups": [],
    }


def _routed(router: Router, event_type: str, payload: dict[str, Any]) -> NewEvent:
    """The event as the receiver stores it: routed on arrival."""
    event_id = f"User:{payload['id']}:v1"
    routed = router.route(
        source="scim", event_id=event_id, event_type=event_type, payload=payload
    )
    return NewEvent(
        source="scim",
        event_id=event_id,
        event_type=event_type,
        payload=payload,
        deployment=routed.deployment,
        parameters=routed.parameters,
    )


async def _add_joiners(
    inbox: Inbox, router: Router, count: int, **person: Any
) -> list[InboxEvent]:
    stored = []
    for _ in range(count):
        event, _ = await inbox.add(_routed(router, "user.created", _person(uid("p"), **person)))
        stored.append(event)
    return stored


async def _all(inbox: Inbox, events: list[InboxEvent]) -> list[InboxEvent]:
    found = [await inbox.get(e.id) for e in events]
    assert all(e is not None for e in found)
    return [e for e in found if e is not None]


async def _runs(client: PrefectClient, events: list[InboxEvent]) -> list[FlowRun]:
    """Every run any of ``events`` started: by its own event id or by its batch key."""
    keys = {e.event_id for e in events} | {e.batch_key for e in events if e.batch_key}
    return await runs_for(client, keys)


def _emails(run: FlowRun) -> list[str]:
    return [m["email"] for m in run.parameters["spec"]["members"]]


def _forwarder(inbox: Inbox, router: Router, client: PrefectClient, **kw: Any) -> Forwarder:
    # No backoff: an event to retry is due again at once.
    return Forwarder(inbox, router, client, backoff_base=0, backoff_max=0, **kw)


async def _pass(forwarder: Forwarder, ids: list[int] | None = None) -> ForwardSummary:
    """A pass, repeated while Prefect asks to be retried (the harness's own SQLite answers
    503 "database is locked" at times); the summaries added up."""
    total = ForwardSummary()
    for _ in range(30):
        summary = await forwarder.forward_once(ids)
        total.forwarded += summary.forwarded
        total.dead += summary.dead
        total.held += summary.held
        total.runs += summary.runs
        if not summary.retrying:
            return total
    raise AssertionError(f"still retrying after 30 passes: {summary}")


# --- configuration (no real part) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("batch", "field", "says"),
    [
        ("{items: spec.member}", "batch.items", "spec has members, organization, space"),
        ("{items: spec.space}", "batch.items", "not a list"),
        ("{items: members}", "batch.items", "parameters has spec"),
        ("{items: 'spec..members'}", "batch.items", "write e.g. spec.members"),
        ("{items: spec.members, max_items: 0}", "batch.max_items", "greater than or equal to 1"),
        ("{items: spec.members, size: 5}", "batch.size", "Extra inputs are not permitted"),
        ("{max_items: 5}", "batch.items", "Field required"),
    ],
)
def test_a_bad_batch_is_refused_naming_the_field(batch: str, field: str, says: str) -> None:
    with pytest.raises(RoutingConfigError) as info:
        Router.from_yaml(JOINERS.format(batch=batch), path="routing.yaml")
    (line,) = info.value.errors
    assert line.startswith("routes[0] (joiners)"), line
    assert field in line and says in line, line
    assert str(info.value).startswith("routing.yaml: invalid routing config")


def test_a_batch_of_a_whole_template_is_refused_with_the_fix() -> None:
    """``spec: "{{ payload.data.spec }}"`` may or may not hold a list: it cannot be batched."""
    with pytest.raises(RoutingConfigError) as info:
        Router.from_yaml(
            "routes:\n"
            "  - name: generic-onboard-team\n"
            "    source: generic\n"
            "    event_type: runbook.onboard-team\n"
            "    deployment: onboard-team/onboard-team\n"
            "    parameters: {spec: '{{ payload.data.spec }}'}\n"
            "    batch: {items: spec.members}\n"
        )
    (line,) = info.value.errors
    assert "batch.items" in line and "single template" in line
    assert "a YAML list or $each" in line


def test_the_scim_example_batches_joiners_and_nothing_else() -> None:
    router = Router.from_file(SCIM_ROUTING)
    batched = {r.name: r.batch for r in router.config.routes if r.batch is not None}
    assert batched == {
        "scim-joiner": Batch(
            items="spec.members", max_items=100, unique_by="email", wait_seconds=5
        )
    }


def _event(id: int, parameters: dict[str, Any], source: str = "scim") -> InboxEvent:
    return InboxEvent.model_construct(
        id=id, source=source, event_id=f"e{id}", parameters=parameters, batch_key=None
    )


def _members(*emails: str) -> dict[str, Any]:
    return {
        "spec": {"space": "general", "members": [{"email": e, "name": e} for e in emails]},
        "dry_run": False,
        "trigger": {"source": "scim", "event_id": "x", "signature": "s", "requested_by": None},
    }


def test_cut_keeps_order_size_and_unique_members() -> None:
    batch = Batch(items="spec.members", max_items=3, unique_by="email")
    events = [
        _event(1, _members("a")),
        _event(2, _members("b")),
        _event(3, _members("A")),  # a again (as onboard-team compares addresses): next run
        _event(4, _members("c")),
        _event(5, _members("e", "f", "g", "h")),  # more than max_items: alone, never split
        _event(6, _members("d", "x")),
        _event(7, _members("y", "z")),  # would make 4
    ]
    cut = batching.cut(events, batch)
    assert [[e.id for e in part] for part in cut] == [[1, 2], [3, 4], [5], [6], [7]]


def test_run_parameters_concatenate_in_order_and_sign_a_trigger_naming_the_batch() -> None:
    from tasks.triggers import Trigger

    members = [_event(1, _members("a")), _event(2, _members("b", "c"))]
    key = batching.new_key(members, Batch(items="spec.members"))
    assert batching.items_path(key) == ("spec", "members")
    parameters = batching.run_parameters(members, batching.items_path(key), key)
    assert [m["email"] for m in parameters["spec"]["members"]] == ["a", "b", "c"]
    trigger = Trigger.model_validate(parameters["trigger"])
    assert trigger.event_id == key and trigger.is_verified()
    # One event alone is forwarded as if unbatched: its own key, its own parameters.
    alone = [_event(7, _members("z"))]
    assert batching.new_key(alone, Batch(items="spec.members")) == "scim:e7"
    assert batching.run_parameters(alone, (), "scim:e7") == alone[0].parameters
    # Equal but for the list and the event's own trigger: one group.
    route = Batch(items="spec.members")
    keys = {
        batching.group_key("r", "d/d", e.parameters, route)  # type: ignore[arg-type]
        for e in [*members, *alone]
    }
    assert len(keys) == 1


# --- one run for many events -------------------------------------------------------------------


async def test_joiners_pending_together_become_one_run_listing_them_all(
    inbox_url: str, prefect_client: PrefectClient, runbook_deployments: dict[str, Any]
) -> None:
    router = joiners()
    metrics = Metrics()
    async with Inbox(inbox_url) as inbox:
        events = await _add_joiners(inbox, router, 7)
        leaver, _ = await inbox.add(_routed(router, "user.deactivated", _person(uid("l"))))
        summary = await _pass(_forwarder(inbox, router, prefect_client, metrics=metrics))

        assert sorted(summary.forwarded) == sorted([e.id for e in events] + [leaver.id])
        assert len(summary.runs) == 2  # the joiners' batch, and the leaver alone
        stored = await _all(inbox, events)
        (key,) = {e.batch_key for e in stored}
        assert key is not None and batching.items_path(key) == ("spec", "members")
        assert {e.status for e in stored} == {EventStatus.FORWARDED}
        (run_id,) = {e.flow_run_id for e in stored}
        assert await inbox.batch(key) == stored
        # The unbatched route is as before: its own key, no batch.
        (leaver_now,) = await _all(inbox, [leaver])
        assert leaver_now.batch_key is None and leaver_now.flow_run_id not in (None, run_id)

    (run,) = await _runs(prefect_client, stored)
    assert str(run.id) == run_id
    assert run.idempotency_key == key
    assert _emails(run) == [e.payload["email"] for e in events]  # inbox order
    assert run.parameters["trigger"]["event_id"] == key
    # Each event counted once as forwarded; one batch of seven.
    forwarded = metrics.forward_attempts.labels(outcome="forwarded")._value.get()
    assert forwarded == 8
    assert metrics.batch_size._sum.get() == 7


async def test_max_items_cuts_runs_and_no_run_lists_a_person_twice(
    inbox_url: str, prefect_client: PrefectClient, runbook_deployments: dict[str, Any]
) -> None:
    router = joiners("{items: spec.members, max_items: 3, unique_by: email}")
    async with Inbox(inbox_url) as inbox:
        events = await _add_joiners(inbox, router, 2)
        # The first joiner again (recreated in the IdP): cut off from their first event.
        again = _person(events[0].payload["id"] + "x")
        again["email"] = events[0].payload["email"]
        repeat, _ = await inbox.add(_routed(router, "user.created", again))
        events += [repeat, *await _add_joiners(inbox, router, 4)]
        await _pass(_forwarder(inbox, router, prefect_client))
        stored = await _all(inbox, events)
    runs = await _runs(prefect_client, stored)
    by_run = {str(r.id): _emails(r) for r in runs}
    # [1, 2] | [1 again, 3, 4] | [5, 6]: in order, at most 3, nobody twice in one run.
    assert sorted(len(m) for m in by_run.values()) == [2, 2, 3]
    assert by_run[stored[2].flow_run_id][0] == stored[0].payload["email"]  # type: ignore[index]
    for emails in by_run.values():
        assert len(emails) == len(set(emails))
    listed = sorted(email for emails in by_run.values() for email in emails)
    assert listed == sorted(e.payload["email"] for e in stored)
    for event in stored:  # each event's run is the one listing it
        assert event.payload["email"] in by_run[event.flow_run_id]  # type: ignore[index]


async def test_scim_joiners_through_the_endpoint_one_run_and_the_log_links_each(
    tmp_path: Path, prefect_client: PrefectClient, runbook_deployments: dict[str, Any]
) -> None:
    """SCIM POST /Users over HTTP, with the example routing, then the forwarder's pass; the
    `scim log` and `inbox show` commands link each request's event to the batch's run."""
    from tests.scim.conftest import SCIM, running, user_body

    url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    people = [f"{uid('j')}@acme.example" for _ in range(5)]
    async with running(url) as service:
        for email in people:
            created = await service.http.post(f"{SCIM}/Users", json=user_body(email))
            assert created.status_code == 201, created.text
        router = Router.from_file(SCIM_ROUTING)
        forwarder = _forwarder(service.inbox, router, prefect_client)
        events = [e for e in await service.events() if e.event_type == "user.created"]
        assert len(events) == 5
        # The route waits 5 s for more joiners: the pass holds them all...
        assert sorted((await _pass(forwarder)).held) == [e.id for e in events]
        # ...and a pass over them by id (as a replay's) takes them now.
        await service.inbox.replay([e.id for e in events])
        await _pass(forwarder, [e.id for e in events])
        events = await _all(service.inbox, events)
    (run,) = await _runs(prefect_client, events)
    assert _emails(run) == people
    assert {e.flow_run_id for e in events} == {str(run.id)}

    log = await asyncio.to_thread(run_cli, "scim", "log", "--database-url", url)
    assert log.exit_code == 0, log.output
    assert log.output.count(str(run.id)) == 5
    shown = await asyncio.to_thread(run_cli, "inbox", "show", str(events[0].id), "--inbox-url", url)
    assert shown.exit_code == 0, shown.output
    assert events[0].batch_key in shown.output and str(run.id) in shown.output


# --- cut off, then taken up again ------------------------------------------------------------


def _cut_off_create(monkeypatch: pytest.MonkeyPatch, *, after: bool) -> list[str]:
    """Kill the pass at its first run creation: before Prefect hears of it, or right after
    Prefect made the run (before the inbox knows). Returns the runs created meanwhile."""
    real = forwarder_module.arun_deployment
    made: list[str] = []

    async def dying(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(forwarder_module, "arun_deployment", real)  # once
        if not after:
            raise Cutoff
        for attempt in range(10):  # through the harness's own 503s, to a run made
            try:
                run = await real(*args, **kwargs)
                break
            except Exception:
                if attempt == 9:
                    raise
        made.append(str(run.id))
        raise Cutoff

    monkeypatch.setattr(forwarder_module, "arun_deployment", dying)
    return made


@pytest.mark.parametrize("point", ["before the run is created", "after the run is created"])
async def test_a_pass_cut_off_is_finished_by_the_next_with_exactly_one_run(
    point: str,
    inbox_url: str,
    prefect_client: PrefectClient,
    runbook_deployments: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router = joiners()
    async with Inbox(inbox_url) as inbox:
        events = await _add_joiners(inbox, router, 4)
        made = _cut_off_create(monkeypatch, after=point.startswith("after"))
        # Lease 0: the dead forwarder's claims are free for the next at once (no waiting).
        dead = _forwarder(inbox, router, prefect_client, name="dead", lease_seconds=0)
        with pytest.raises(Cutoff):
            await dead.forward_once()
        written = await _all(inbox, events)
        (key,) = {e.batch_key for e in written}
        assert key is not None  # the batch was written before Prefect was asked
        assert {e.status for e in written} == {EventStatus.PENDING}
        assert len(made) == (1 if point.startswith("after") else 0)

        # A newcomer of the same route meanwhile: never slipped into the written batch.
        (late,) = await _add_joiners(inbox, router, 1)
        summary = await _pass(_forwarder(inbox, router, prefect_client, name="next"))
        assert sorted(summary.forwarded) == sorted(e.id for e in [*events, late])
        done = await _all(inbox, events)
        (late_now,) = await _all(inbox, [late])

    assert {e.batch_key for e in done} == {key} and late_now.batch_key != key
    runs = await _runs(prefect_client, [*done, late_now])
    assert len(runs) == 2
    (batch_run,) = [r for r in runs if r.idempotency_key == key]
    assert _emails(batch_run) == [e.payload["email"] for e in events]
    assert made in ([], [str(batch_run.id)])  # the run made before the crash is the one kept
    assert {e.flow_run_id for e in done} == {str(batch_run.id)}


async def test_a_pass_cut_off_after_marking_some_leaves_nothing_to_redo(
    inbox_url: str, prefect_client: PrefectClient, runbook_deployments: dict[str, Any]
) -> None:
    """A replayed member of a forwarded batch finds the batch's run, not a new one."""
    router = joiners()
    async with Inbox(inbox_url) as inbox:
        events = await _add_joiners(inbox, router, 3)
        await _pass(_forwarder(inbox, router, prefect_client))
        before = await _all(inbox, events)
        assert await inbox.replay([before[1].id]) == [before[1].id]
        again = await _pass(_forwarder(inbox, router, prefect_client))
        assert again.forwarded == [before[1].id]
        after = await _all(inbox, events)
    assert after[1].flow_run_id == before[1].flow_run_id
    assert len(await _runs(prefect_client, after)) == 1


# --- two replicas on one PostgreSQL inbox ----------------------------------------------------


def _hold_at(
    target: Any, name: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[asyncio.Event, asyncio.Event]:
    """Stop the first call of ``target.name`` until ``go`` is set; ``there`` says it arrived."""
    real = getattr(target, name)
    there, go = asyncio.Event(), asyncio.Event()

    async def held(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(target, name, real)  # only the first call waits
        there.set()
        await go.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(target, name, held)
    return there, go


async def _race(
    slow: Forwarder, fast: Forwarder, there: asyncio.Event, go: asyncio.Event
) -> tuple[Any, Any]:
    """``slow`` runs its pass up to the held point; ``fast`` runs a whole pass; then ``slow``
    goes on."""
    first = asyncio.create_task(slow.forward_once())
    await asyncio.wait_for(there.wait(), 60)
    second = await fast.forward_once()
    go.set()
    return await first, second


@pytest.mark.parametrize(
    "held_at", ["between claim and batch", "between batch and run", "between run and mark"]
)
async def test_two_replicas_racing_on_one_postgres_inbox_make_one_run_per_batch(
    held_at: str,
    postgres_url: str,
    prefect_client: PrefectClient,
    runbook_deployments: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router = joiners()
    async with Inbox(postgres_url) as one, Inbox(postgres_url) as other:
        events = await _add_joiners(one, router, 6)
        # Lease 0: the other replica may take the held one's events, as after a lease ran out.
        slow = _forwarder(one, router, prefect_client, name="slow", lease_seconds=0)
        fast = _forwarder(other, router, prefect_client, name="fast")
        if held_at == "between claim and batch":
            there, go = _hold_at(one, "assign_batch", monkeypatch)
        elif held_at == "between batch and run":
            there, go = _hold_at(forwarder_module, "arun_deployment", monkeypatch)
        else:
            there, go = _hold_at(one, "mark_batch_forwarded", monkeypatch)
        slowed, quick = await _race(slow, fast, there, go)
        rest = await _pass(fast)  # what the harness's 503s left to retry, if anything
        done = await _all(one, events)

    # Every event forwarded by exactly one of them, to one run.
    forwarded = slowed.forwarded + quick.forwarded + rest.forwarded
    assert sorted(forwarded) == sorted(e.id for e in events)
    assert {e.status for e in done} == {EventStatus.FORWARDED}
    (run,) = await _runs(prefect_client, done)
    assert {e.flow_run_id for e in done} == {str(run.id)}
    assert _emails(run) == [e.payload["email"] for e in events]
    if held_at == "between claim and batch":
        # The held replica's claim was taken over: its batch was never written.
        assert slowed.forwarded == [] and slowed.runs == []


async def test_two_replicas_passing_at_once_put_each_event_in_exactly_one_run(
    postgres_url: str, prefect_client: PrefectClient, runbook_deployments: dict[str, Any]
) -> None:
    """Free-running: the interleaving is the database's, the outcome is not."""
    router = joiners("{items: spec.members, max_items: 4}")
    async with Inbox(postgres_url) as one, Inbox(postgres_url) as other:
        events = await _add_joiners(one, router, 30)
        replicas = [
            _forwarder(inbox, router, prefect_client, name=name, batch_size=10)
            for inbox, name in ((one, "a"), (other, "b"))
        ]
        for _ in range(20):
            await asyncio.gather(*(r.forward_once() for r in replicas))
            if (await one.stats()).pending == 0:
                break
        done = await _all(one, events)
    assert {e.status for e in done} == {EventStatus.FORWARDED}
    runs = {str(r.id): r for r in await _runs(prefect_client, done)}
    listed = sorted(e for r in runs.values() for e in _emails(r))
    assert listed == sorted(e.payload["email"] for e in done)  # each once, none lost
    for event in done:
        assert event.payload["email"] in _emails(runs[event.flow_run_id])  # type: ignore[index]
        assert len(_emails(runs[event.flow_run_id])) <= 4  # type: ignore[index]


# --- bad events and dead batches -------------------------------------------------------------


async def test_an_unsendable_event_dies_alone_and_the_rest_are_batched(
    inbox_url: str, prefect_client: PrefectClient, runbook_deployments: dict[str, Any]
) -> None:
    router = joiners()
    async with Inbox(inbox_url) as inbox:
        good = await _add_joiners(inbox, router, 2)
        (bad,) = await _add_joiners(inbox, router, 1, name="Nul\x00Person")
        good += await _add_joiners(inbox, router, 2)
        summary = await _pass(_forwarder(inbox, router, prefect_client))
        assert summary.dead == [bad.id]
        (bad_now,) = await _all(inbox, [bad])
        done = await _all(inbox, good)
    assert bad_now.status is EventStatus.DEAD and bad_now.batch_key is None
    assert "spec.members[0].name" in (bad_now.last_error or "")
    (run,) = await _runs(prefect_client, done)
    assert _emails(run) == [e.payload["email"] for e in good]


async def test_a_refused_batch_is_dead_whole_and_replay_forwards_members_afresh(
    inbox_url: str,
    prefect_client: PrefectClient,
    prefect_harness: str,
    runbook_deployments: dict[str, Any],
    tmp_path: Path,
) -> None:
    """One member Prefect's parameter schema refuses (no name: null) sinks its batch; replayed,
    members leave the dead batch: the good ones go together, the bad one dies alone."""
    router = joiners()
    routing = tmp_path / "routing.yaml"
    routing.write_text(JOINERS.format(batch="{items: spec.members, unique_by: email}"))
    async with Inbox(inbox_url) as inbox:
        good = await _add_joiners(inbox, router, 3)
        nameless = _person(uid("n"))
        del nameless["displayName"]
        bad, _ = await inbox.add(_routed(router, "user.created", nameless))
        summary = await _pass(_forwarder(inbox, router, prefect_client))
        assert sorted(summary.dead) == sorted(e.id for e in [*good, bad])
        dead = await _all(inbox, [*good, bad])
        (key,) = {e.batch_key for e in dead}
        assert {e.status for e in dead} == {EventStatus.DEAD}
        assert all(e.last_error and e.last_error.startswith("Prefect refused") for e in dead)
        assert await _runs(prefect_client, dead) == []

        # Replayed, the members go on in a new batch of their own (replay_until_settled
        # replays again while the harness's SQLite has them retrying, as an admin would).
        await replay_until_settled(
            *(str(e.id) for e in good),
            "--config",
            str(routing),
            "--prefect-api-url",
            prefect_harness,
            "--inbox-url",
            inbox_url,
        )
        fine = await _all(inbox, good)
        (bad_now,) = await _all(inbox, [bad])
    assert {e.status for e in fine} == {EventStatus.FORWARDED}
    assert key not in {e.batch_key for e in fine}
    assert bad_now.status is EventStatus.DEAD and bad_now.batch_key == key
    (run,) = await _runs(prefect_client, fine)
    assert _emails(run) == [e.payload["email"] for e in good]


# --- waiting for a burst to fill a batch -------------------------------------------------------


async def test_wait_seconds_holds_a_batch_not_full_until_its_first_event_has_waited(
    inbox_url: str, prefect_client: PrefectClient, runbook_deployments: dict[str, Any]
) -> None:
    router = joiners("{items: spec.members, max_items: 3, wait_seconds: 300}")
    async with Inbox(inbox_url) as inbox:
        events = await _add_joiners(inbox, router, 4)
        forwarder = _forwarder(inbox, router, prefect_client)
        summary = await _pass(forwarder)
        # The full batch goes now; the fourth waits for company, its attempt not counted.
        assert summary.forwarded == [e.id for e in events[:3]]
        assert summary.held == [events[3].id]
        (held,) = await _all(inbox, events[3:])
        assert held.status is EventStatus.PENDING and held.attempts == 0
        assert held.next_attempt_at is not None and held.claimed_by is None
        assert await inbox.next_due_at() == held.next_attempt_at
        # A later joiner, claimed by a pass of its own, waits until the same moment: the
        # two come due, and are batched, together.
        (later,) = await _add_joiners(inbox, router, 1)
        assert (await _pass(forwarder)).held == [later.id]
        (later_held,) = await _all(inbox, [later])
        assert later_held.next_attempt_at == held.next_attempt_at
        # Not due: an explicit pass over them (a replay's) does not take them early...
        assert (await _pass(forwarder, [held.id, later.id])).forwarded == []
        # ...but once replayed they go at once, together: a replay never waits.
        await inbox.replay([held.id, later.id])
        summary = await _pass(forwarder, [held.id, later.id])
        assert sorted(summary.forwarded) == [held.id, later.id] and len(summary.runs) == 1


# --- onboard-team runs what a batch sends ------------------------------------------------------


async def test_onboard_team_applies_a_batch_of_100_joiners_and_again_changes_nothing(
    tmp_path: Path,
    prefect_client: PrefectClient,
    runbook_deployments: dict[str, Any],
    arize: Any,
    runbook_policy: Any,
) -> None:
    """100 SCIM joiners → one run of the stand-in deployment; its parameters given to the real
    onboard-team flow: every one invited to the space, and a second run changes nothing."""
    from arize_admin import RoleBindingResourceType
    from flows.onboard_team.flow import onboard_team
    from flows.onboard_team.spec import OnboardTeamSpec
    from tasks.reporting.report import RunStatus
    from tasks.triggers import Trigger
    from tests.fixtures.runbooks import admin_client, mutation_count

    router = Router.from_file(SCIM_ROUTING)
    async with Inbox(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}") as inbox:
        events = await _add_joiners(inbox, router, 100)
        summary = await _pass(_forwarder(inbox, router, prefect_client))
        assert len(summary.forwarded) == 100 and len(summary.runs) == 1
        done = await _all(inbox, events)
    (run,) = await _runs(prefect_client, done)
    assert len(_emails(run)) == 100

    spec = OnboardTeamSpec.model_validate(run.parameters["spec"])
    trigger = Trigger.model_validate(run.parameters["trigger"])
    assert trigger.is_verified()
    first = await onboard_team(spec=spec, trigger=trigger)
    assert first.status is RunStatus.COMPLETED, first

    async with admin_client(arize) as client:
        org = await client.organizations.find_by_name("Acme")
        space = await client.spaces.find_by_name("general", org_id=org.id)
        assert space is not None
        bound = {
            b.user_id
            async for b in client.role_bindings.list(resource_type=RoleBindingResourceType.SPACE)
            if b.resource_id == space.id
        }
        for event in events:
            user = await client.users.find_by_email(event.payload["email"])
            assert user is not None and user.id in bound, event.payload["email"]

    before = mutation_count(arize)
    second = await onboard_team(spec=spec, trigger=trigger)
    assert second.status is RunStatus.NO_CHANGES
    assert mutation_count(arize) == before
