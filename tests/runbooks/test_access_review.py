"""access-review end to end: the Arize emulator and the Slack emulator over HTTP, real Prefect.

Clicks are built from the messages the Slack emulator holds, as Slack would send them, and given
to the review click handler (the payload the webhook route hands over once it has verified the
signature). Reviewers: Avery and Morgan (account admins) and Dana (made admin of
fraud-detection here); Mallory is in Slack but not in Arize; Lee is a reviewed subject.
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client

from arize_admin import ApiKeyType, InviteMode, PredefinedRole, RoleBindingResourceType
from blocks.policy import RunbookPolicy
from blocks.slack import SlackApprovals
from cli.approvals import answer_gate
from core.idp_export import load_active_emails
from core.planning.plan import SpecError
from emulator.slack import SlackEmulatorServer
from emulator.slack.interactions import block_actions_payload
from flows.access_review import decisions as store
from flows.access_review.flow import access_review
from flows.access_review.messages import KEEP_ACTION, REVOKE_ACTION, parse_button_value
from flows.access_review.review import FindingKind, ItemKind
from flows.access_review.slack_clicks import ReviewClickHandler, ReviewClickOutcome
from flows.access_review.spec import AccessReviewSpec
from tests.fixtures.runbooks import (
    APPROVER,
    admin_client,
    emulator_state,
    mutation_count,
)
from tests.fixtures.slack import SLACK_BOT_TOKEN

pytestmark = pytest.mark.slow

AVERY, MORGAN, DANA, LEE, SAM, MALLORY = (
    "admin@acme.example",
    "morgan@acme.example",
    "dana@acme.example",
    "lee.leaver@acme.example",
    "sam@acme.example",
    "mallory@acme.example",
)
SLACK_IDS = {
    AVERY: "U0AVERY",
    MORGAN: "U0MORGAN",
    DANA: "U0DANA",
    LEE: "U0LEE",
    SAM: "U0SAM",
    MALLORY: "U0MALLORY",
}
CHANNEL = "#arize-approvals"


@pytest.fixture
async def reviewers(arize, slack_emulator: SlackEmulatorServer) -> None:
    """Morgan a second account admin, Dana admin of fraud-detection; everyone in Slack."""
    async with admin_client(arize) as client:
        await client.users.create(
            name="Morgan Admin", email=MORGAN, role="ADMIN", invite_mode=InviteMode.NONE
        )
        fraud = await client.spaces.find_by_name("fraud-detection")
        dana = await client.users.find_by_email(DANA)
        assert fraud is not None and dana is not None
        await client.spaces.add_user(fraud.id, user_id=dana.id, role=PredefinedRole(name="ADMIN"))
    for email, user_id in SLACK_IDS.items():
        slack_emulator.add_user(user_id, email.split("@")[0], email)


@pytest.fixture
async def slack_policy(
    runbook_policy: RunbookPolicy, slack_emulator: SlackEmulatorServer
) -> AsyncIterator[RunbookPolicy]:
    """The test policy with the Slack app on the emulator, saved as "default"."""
    policy = runbook_policy.model_copy(
        update={
            "slack": SlackApprovals(
                bot_token=SLACK_BOT_TOKEN, channel=CHANNEL, base_url=slack_emulator.base_url
            )
        }
    )
    await policy.asave("default", overwrite=True)
    yield policy


@pytest.fixture
def handler(slack_emulator: SlackEmulatorServer, prefect_harness: str) -> ReviewClickHandler:
    return ReviewClickHandler(bot_token=SLACK_BOT_TOKEN, slack_base_url=slack_emulator.base_url)


def spec(tmp_path: Path, **changes: Any) -> AccessReviewSpec:
    values: dict[str, Any] = {
        "review_id": f"test-{tmp_path.name[-12:]}".replace("_", "-"),
        "output_dir": str(tmp_path / "out"),
        "decision_seconds": 120,
        "reminder_seconds": 1,
        "escalation_seconds": 1,
        "poll_seconds": 0.2,
    }
    values.update(changes)
    return AccessReviewSpec.model_validate(values)


def review_buttons(slack: SlackEmulatorServer) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(message, button)`` for every Keep / Revoke button on the review's messages."""
    found = []
    for message in slack.messages()["messages"]:
        for block in message.get("blocks") or []:
            for element in block.get("elements", []):
                if element.get("action_id") in (KEEP_ACTION, REVOKE_ACTION):
                    found.append((message, {**element, "block_id": block["block_id"]}))
    return found


def reviewer_of(message: dict[str, Any]) -> str:
    """The reviewer a message is for (its header names them)."""
    return message["text"].rsplit(" for ", 1)[1].split(" to review")[0]


async def wait_for_review(slack: SlackEmulatorServer, task: asyncio.Task[Any]) -> str:
    """Wait until the run posted its review; the review's run id."""
    for _ in range(600):
        if task.done():
            task.result()  # raises what the flow raised
        buttons = review_buttons(slack)
        if buttons:
            parsed = parse_button_value(buttons[0][1]["value"])
            assert parsed is not None
            # Every reviewer's messages are posted before the run starts waiting.
            async with get_client() as prefect:
                manifest = await store.read_manifest(prefect, parsed[0])
                assert manifest is not None
                items = await store.read_items(prefect, parsed[0])
            reviewers = {r for i in items for r in i.reviewers}
            if {reviewer_of(m) for m, _ in review_buttons(slack)} >= reviewers:
                return parsed[0]
        await asyncio.sleep(0.1)
    raise AssertionError("the review was never posted")


def payload(
    slack: SlackEmulatorServer,
    clicker: str,
    message: dict[str, Any],
    button: dict[str, Any],
    value: str | None = None,
) -> dict[str, Any]:
    """The verified payload of ``clicker`` clicking ``button`` on ``message``."""
    action = {k: v for k, v in button.items() if k != "block_id"}
    if value is not None:
        action["value"] = value
    current = next(
        m for m in slack.messages()["messages"] if m["ts"] == message["ts"]
    )  # the message as it is now, with earlier decisions shown
    return block_actions_payload(
        user_id=SLACK_IDS.get(clicker, clicker),
        user_name=clicker.split("@")[0],
        action=action,
        block_id=button["block_id"],
        channel_id=message["channel"],
        message=current,
    )


def _item_of(button: dict[str, Any]) -> str:
    parsed = parse_button_value(button["value"])
    return parsed[1] if parsed else ""


def read_json(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def read_csv(path: str) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


async def click(
    handler: ReviewClickHandler,
    slack: SlackEmulatorServer,
    clicker: str,
    item_id: str,
    action: str,
    *,
    reviewer: str | None = None,
) -> ReviewClickOutcome:
    """``clicker`` clicks ``action`` on the item, on the message for ``reviewer`` (default:
    their own message, else any message showing the item)."""
    candidates = [
        (m, b)
        for m, b in review_buttons(slack)
        if b["action_id"] == action
        and (parse_button_value(b["value"]) or ("", "", ""))[1] == item_id
    ]
    wanted = reviewer or clicker
    chosen = next(((m, b) for m, b in candidates if reviewer_of(m) == wanted), None)
    chosen = chosen or candidates[0]
    result = await handler.handle(payload(slack, clicker, *chosen))
    assert result is not None
    return result.outcome


async def approve_when_paused(run_id: str) -> None:
    """Approve the remediation gate of the review's run, as the policy's approver (CLI path)."""
    async with get_client() as prefect:
        for _ in range(600):
            run = await prefect.read_flow_run(UUID(run_id))
            if run.state is not None and run.state.is_paused():
                await answer_gate(run_id, approved=True, approver=APPROVER)
                return
            await asyncio.sleep(0.1)
    raise AssertionError("the remediation never reached its gate")


async def live_items(arize) -> dict[str, Any]:
    async with admin_client(arize) as client:
        bindings = {
            b.id
            for rt in (RoleBindingResourceType.SPACE, RoleBindingResourceType.PROJECT)
            async for b in client.role_bindings.list(resource_type=rt)
        }
        keys = {k.name async for k in client.api_keys.list(key_type=ApiKeyType.SERVICE)}
        users = {u.email async for u in client.users.list()}
    return {"bindings": bindings, "service_keys": keys, "users": users}


async def test_two_reviewers_keep_and_revoke_then_revocations_are_approved_and_recorded(
    arize, reviewers, slack_policy, slack_emulator, handler, tmp_path
):
    review_spec = spec(tmp_path)
    run = asyncio.create_task(access_review(spec=review_spec))
    try:
        run_id = await wait_for_review(slack_emulator, run)
        async with get_client() as prefect:
            items = await store.read_items(prefect, run_id)
        by = {(i.kind, i.subject, i.grant.split(" on ")[-1]): i for i in items}
        lee_fraud = by[(ItemKind.SPACE, LEE, "space fraud-detection")]
        lee_etl = next(i for i in items if i.subject == "service key lee-etl")
        assert lee_fraud.reviewers == [DANA] and lee_fraud.reviewed_by.endswith("fraud-detection")
        assert set(lee_etl.reviewers) == {AVERY, MORGAN}

        # Dana revokes Lee's fraud-detection membership; Avery revokes Lee's service key.
        assert await click(handler, slack_emulator, DANA, lee_fraud.id, REVOKE_ACTION) == (
            ReviewClickOutcome.REVOKED
        )
        assert await click(handler, slack_emulator, AVERY, lee_etl.id, REVOKE_ACTION) == (
            ReviewClickOutcome.REVOKED
        )
        # The first decision stands: Morgan's later Keep on the same key is refused.
        assert await click(handler, slack_emulator, MORGAN, lee_etl.id, KEEP_ACTION) == (
            ReviewClickOutcome.ALREADY_DECIDED
        )
        # Everything else is kept, each by a reviewer who is not its subject.
        for item in items:
            if item.id in (lee_fraud.id, lee_etl.id):
                continue
            clicker = next(r for r in item.reviewers if r != item.subject_email)
            outcome = await click(handler, slack_emulator, clicker, item.id, KEEP_ACTION)
            assert outcome is ReviewClickOutcome.KEPT, (item.subject, item.grant, clicker)

        before = await live_items(arize)
        answer = asyncio.create_task(approve_when_paused(run_id))
        outcome = await asyncio.wait_for(run, 120)
        await answer
    finally:
        if not run.done():
            run.cancel()

    after = await live_items(arize)
    assert before["bindings"] - after["bindings"] == {lee_fraud.params["binding_id"]}
    assert before["service_keys"] - after["service_keys"] == {"lee-etl"}
    assert after["users"] == before["users"]
    assert outcome.remediation is not None and outcome.remediation.applied == 2
    assert (outcome.kept, outcome.revoked, outcome.defaulted) == (len(items) - 2, 2, 0)

    record = read_json(outcome.files[2])
    assert set(record["decisions"]) == {i.id for i in items}
    for decision in record["decisions"].values():
        assert decision["by"] in (AVERY, MORGAN, DANA) and decision["at"]
        assert decision["source"] == "slack"
    assert record["decisions"][lee_fraud.id]["by"] == DANA
    assert record["decisions"][lee_fraud.id]["verdict"] == "revoke"
    assert "2 applied" in record["remediation"]
    rows = read_csv(outcome.files[0])
    assert len(rows) == len(items) and all(r["decision"] and r["decided_by"] for r in rows)
    # The Keep buttons Dana clicked now show her decision instead of buttons.
    shown = json.dumps(slack_emulator.messages()["messages"])
    assert "Kept by dana@acme.example" in shown
    assert "Revoke requested by dana@acme.example" in shown


async def test_refused_clicks_change_nothing(
    arize, reviewers, slack_policy, slack_emulator, handler, tmp_path
):
    run = asyncio.create_task(access_review(spec=spec(tmp_path)))
    try:
        run_id = await wait_for_review(slack_emulator, run)
        async with get_client() as prefect:
            items = await store.read_items(prefect, run_id)
        avery_account = next(i for i in items if i.kind is ItemKind.ACCOUNT and i.subject == AVERY)
        lee_fraud = next(
            i
            for i in items
            if i.kind is ItemKind.SPACE and i.subject == LEE and i.grant.endswith("fraud-detection")
        )
        # Someone in Slack but not a reviewer: Mallory, and Sam (an Arize member).
        assert (
            await click(
                handler, slack_emulator, MALLORY, lee_fraud.id, REVOKE_ACTION, reviewer=DANA
            )
            == ReviewClickOutcome.NOT_ALLOWED
        )
        assert (
            await click(handler, slack_emulator, SAM, lee_fraud.id, KEEP_ACTION, reviewer=DANA)
            == ReviewClickOutcome.NOT_ALLOWED
        )
        # Avery reviews accounts, but not their own.
        assert (
            await click(handler, slack_emulator, AVERY, avery_account.id, KEEP_ACTION)
            == ReviewClickOutcome.OWN_ACCESS
        )
        # A forged hash, an item id not in the review, a run that holds no review.
        message, button = next(
            (m, b)
            for m, b in review_buttons(slack_emulator)
            if lee_fraud.id in b["value"] and b["action_id"] == KEEP_ACTION
        )
        forged = [
            f"{run_id}|{lee_fraud.id}|{'0' * 24}",
            f"{run_id}|{'ab' * 10}|{lee_fraud.hash}",
            f"{'0' * 8}-0000-4000-8000-{'0' * 12}|{lee_fraud.id}|{lee_fraud.hash}",
        ]
        for value in forged:
            result = await handler.handle(payload(slack_emulator, DANA, message, button, value))
            assert result is not None and result.outcome is ReviewClickOutcome.STALE, value
        async with get_client() as prefect:
            assert await store.read_decisions(prefect, run_id, len(items)) == {}
        ephemerals = [e["text"] for e in slack_emulator.messages()["ephemerals"]]
        assert any("may not decide your own access" in t for t in ephemerals)
        assert any("out of date" in t for t in ephemerals)
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)


async def test_undecided_items_are_reminded_escalated_then_kept_and_flagged_and_rerun_changes_nothing(  # noqa: E501
    arize, reviewers, slack_policy, slack_emulator, tmp_path
):
    # The default falls 7 s after the review opens: the flow's first look at the decisions
    # (after sending to three reviewers, slow on a loaded machine) must come before it for
    # any reminder to be sent. Reminding and escalating do not depend on their own windows.
    review_spec = spec(tmp_path, decision_seconds=1, reminder_seconds=1, escalation_seconds=5)
    mutations_before = mutation_count(arize)
    first = await asyncio.wait_for(access_review(spec=review_spec), 120)
    assert first.items > 0 and first.defaulted == first.items == first.kept
    assert first.remediation is None
    assert mutation_count(arize) == mutations_before

    messages = slack_emulator.messages()["messages"]
    reminders = [m for m in messages if m["text"].startswith("Reminder:")]
    escalations = [m for m in messages if m["text"].startswith("Escalation:")]
    reviewers_posted = {reviewer_of(m) for m in messages if "to review" in m["text"]}
    assert reviewers_posted == {AVERY, MORGAN, DANA}
    assert len(reminders) == 3  # one per reviewer, in the thread of their message
    assert all(m.get("thread_ts") for m in reminders)
    assert len(escalations) == 1
    assert "Account admins, please decide" in escalations[0]["text"]
    record = read_json(first.files[2])
    assert all(
        d["source"] == "default" and d["flagged"] and d["verdict"] == "keep"
        for d in record["decisions"].values()
    )
    assert all(r["decision"] == "keep (flagged)" for r in read_csv(first.files[0]))

    # Rerunning the finished review: no message, no change, the same record.
    state = emulator_state(arize)
    posted = len(slack_emulator.messages()["messages"])
    second = await asyncio.wait_for(access_review(spec=review_spec), 120)
    assert second.review_run_id == first.review_run_id
    assert (second.items, second.kept, second.defaulted) == (first.items, first.kept, first.items)
    assert len(slack_emulator.messages()["messages"]) == posted
    assert emulator_state(arize) == state
    assert read_json(second.files[2])["decisions"] == record["decisions"]


async def test_a_review_first_looked_at_after_its_escalation_time_reminds_before_escalating(
    arize, reviewers, slack_policy, slack_emulator, tmp_path, monkeypatch
):
    """The interleaving of a slow send (or a worker down across both deadlines), injected:
    the flow's first look at the decisions comes after the escalation time. Each reviewer
    still gets their reminder, before the one escalation that says it follows them."""
    from flows.access_review import flow as review_flow

    send = review_flow.send_review

    async def send_then_pass_the_escalation_time(
        policy: RunbookPolicy, review: Any, manifest: Any
    ) -> int:
        sent = await send(policy, review, manifest)
        # Past it by a margin: the event loop's clock and the wall clock may differ a hair.
        await asyncio.sleep((manifest.escalate_at - datetime.now(UTC)).total_seconds() + 0.1)
        assert datetime.now(UTC) > manifest.escalate_at
        return sent

    monkeypatch.setattr(review_flow, "send_review", send_then_pass_the_escalation_time)
    review_spec = spec(tmp_path, decision_seconds=1, reminder_seconds=1, escalation_seconds=3)
    outcome = await asyncio.wait_for(access_review(spec=review_spec), 120)
    assert outcome.items > 0 and outcome.defaulted == outcome.items

    texts = [m["text"] for m in slack_emulator.messages()["messages"]]
    reminders = [i for i, t in enumerate(texts) if t.startswith("Reminder:")]
    escalations = [i for i, t in enumerate(texts) if t.startswith("Escalation:")]
    assert len(reminders) == 3 and len(escalations) == 1
    assert max(reminders) < escalations[0]


async def test_inventory_and_findings_dry_run(arize, runbook_policy, tmp_path):
    async with admin_client(arize) as client:
        lee = await client.users.find_by_email(LEE)
        sam = await client.users.find_by_email(SAM)
        assert lee is not None and sam is not None
        await client.users.delete(lee.id)  # lee-etl's creator is gone
    arize.control("PUT", f"users/{sam.id}/status", json={"status": "INVITED"})
    export = tmp_path / "active.csv"
    export.write_text("email,name\nadmin@acme.example,Avery\ndana@acme.example,Dana\n")
    mutations = mutation_count(arize)

    outcome = await access_review(spec=spec(tmp_path, idp_export=str(export)), dry_run=True)
    assert mutation_count(arize) == mutations
    findings = {(r["kind"], r["subject"]) for r in read_csv(outcome.files[1])}
    assert (FindingKind.ACCOUNT_ADMIN, AVERY) in findings
    assert (FindingKind.KEY_EXPIRING, "etl-search-ranking") in findings
    assert (FindingKind.KEY_TOO_OLD, "admin") in findings  # Avery's 200-day-old user key
    assert (FindingKind.CREATOR_GONE, "lee-etl") in findings
    assert (FindingKind.STALE_INVITATION, SAM) in findings
    assert (FindingKind.NOT_IN_IDP, SAM) in findings
    assert (FindingKind.NOT_IN_IDP, DANA) not in findings
    assert (FindingKind.NO_MEMBERSHIP, DANA) not in findings  # a member of fraud-detection
    record = read_json(outcome.files[2])
    kinds = {i["kind"] for i in record["review"]["items"]}
    assert kinds == {"account", "space", "service-key", "user-key"}  # Lee's project went too
    assert any("organization memberships" in limit for limit in record["review"]["limits"])
    # Keys appear redacted only: the admin's key value (the fixture's) is nowhere.
    assert arize.admin_key not in json.dumps(record)


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("people.csv", "email,name\nadmin@acme.example,A\nnot-an-email,B\n", "row 3"),
        ("people.csv", "name\nAvery\n", "row 1"),
        ("people.json", '[{"email": "admin@acme.example"}, {"mail": "x"}]', "row 2"),
        ("people.json", '[{"email": "admin@acme.example"},', "line 1"),
    ],
)
def test_idp_export_that_does_not_parse_names_the_row(tmp_path, name, text, where):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_active_emails(str(path))
    assert caught.value.field == "idp_export" and where in str(caught.value)


async def test_broken_idp_export_refuses_the_review_before_anything(
    arize, reviewers, slack_policy, slack_emulator, tmp_path
):
    export = tmp_path / "active.csv"
    export.write_text("email\nadmin@acme.example\ndana@\n")
    mutations = mutation_count(arize)
    with pytest.raises(SpecError, match="row 3: 'dana@' is not an email"):
        await access_review(spec=spec(tmp_path, idp_export=str(export)))
    assert slack_emulator.messages()["messages"] == []
    assert mutation_count(arize) == mutations
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("name", "text"),
    [("people.csv", "email,name\n"), ("people.json", "[]"), ("people.json", '{"people": []}')],
)
def test_idp_export_listing_nobody_is_refused_unless_allowed(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_active_emails(str(path))
    assert caught.value.field == "idp_export" and "lists nobody" in str(caught.value)
    assert "allow_empty_idp_export" in caught.value.fix
    with pytest.raises(SpecError, match="lists nobody"):
        load_active_emails([])
    assert load_active_emails(str(path), allow_empty=True) == set()


async def test_empty_idp_export_refuses_the_review_before_anything(arize, runbook_policy, tmp_path):
    export = tmp_path / "active.csv"
    export.write_text("email\n")
    mutations = mutation_count(arize)
    with pytest.raises(SpecError, match="lists nobody"):
        await access_review(spec=spec(tmp_path, idp_export=str(export)), dry_run=True)
    assert mutation_count(arize) == mutations
    assert not (tmp_path / "out").exists()

    allowed = spec(tmp_path, idp_export=str(export), allow_empty_idp_export=True)
    outcome = await access_review(spec=allowed, dry_run=True)
    findings = {(r["kind"], r["subject"]) for r in read_csv(outcome.files[1])}
    assert (FindingKind.NOT_IN_IDP, DANA) in findings  # asked for: everyone is flagged


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key_expiring_within_days", 10**9),
        ("invitation_max_age_days", 10**12),
        ("key_max_age_days", 10**10),
        ("decision_seconds", 10**15),
        ("reminder_seconds", 10**15),
        ("escalation_seconds", 10**15),
        ("poll_seconds", float("nan")),
    ],
)
def test_numbers_out_of_range_are_refused_naming_the_field(tmp_path, field, value):
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        spec(tmp_path, **{field: value})
    assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_idp_export_inline_and_json_forms(tmp_path):
    assert load_active_emails(["A@Acme.example", "b@acme.example"]) == {
        "a@acme.example",
        "b@acme.example",
    }
    path = tmp_path / "people.json"
    path.write_text(json.dumps({"people": [{"email": "c@acme.example"}, "d@acme.example"]}))
    assert load_active_emails(str(path)) == {"c@acme.example", "d@acme.example"}


def test_quarterly_schedule_is_the_first_monday(tmp_path):
    import yaml
    from prefect._vendor.croniter import croniter

    deployments = yaml.safe_load(Path("prefect.yaml").read_text())["deployments"]
    schedule = next(d for d in deployments if d["name"] == "access-review")["schedules"][0]
    assert schedule["day_or"] is False
    runs = croniter(schedule["cron"], datetime(2025, 1, 1, tzinfo=UTC), day_or=False)
    dates = [runs.get_next(datetime) for _ in range(4)]
    assert [d.strftime("%a %m-%d") for d in dates] == [
        "Mon 01-06",
        "Mon 04-07",
        "Mon 07-07",
        "Mon 10-06",
    ]
