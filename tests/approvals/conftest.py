"""Fixtures for the Slack approval gate: Slack people, the webhook service, a paused flow run.

The flow under test stores and posts its request with the real tasks, then pauses with
``pause_flow_run(wait_for_input=ApprovalDecision…, key=gate)`` in a thread; clicks go through
the real signed path of the webhook service (``create_app`` over ASGI, where the background
work finishes before the response is returned, so tests need no sleeps).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import apause_flow_run
from prefect.runtime import flow_run
from prefect.states import State

from blocks.slack import SlackApprovals
from core.approvals.requests import ApprovalRequest
from core.approvals.rules import ApprovalPolicy
from core.evidence import TriggerEvidence
from core.planning.changes import DeleteUser, RevokeKey
from emulator.slack import SlackEmulatorServer
from emulator.slack.interactions import SignedRequest, build_click
from tasks.approvals.answer import ApprovalAnswer
from tasks.approvals.slack_blocks import parse_button_value
from tasks.approvals.slack_messages import mark_expired, post_approval_request, post_run_result
from tests.fixtures.slack import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET
from webhooks.app import create_app
from webhooks.settings import Settings

INTERACTIONS = "http://webhooks.test/slack/interactions"

ALICE, BOB, CAROL, MALLORY, REQUESTER, LEE = (
    "U0ALICE",
    "U0BOB",
    "U0CAROL",
    "U0MALLORY",
    "U0REQ",
    "U0LEE",
)

# What each test flow applied, by run id: "applied once" means exactly one entry.
APPLIED: list[str] = []


@pytest.fixture
def people(slack_emulator: SlackEmulatorServer) -> None:
    """Approvers in the group (Alice, Bob, the requester, the leaver) and on the list (Carol)."""
    for user_id, name in [
        (ALICE, "alice"),
        (BOB, "bob"),
        (CAROL, "carol"),
        (MALLORY, "mallory"),
        (REQUESTER, "requester"),
        (LEE, "lee.leaver"),
    ]:
        slack_emulator.add_user(user_id, name, f"{name}@acme.example")
    slack_emulator.add_usergroup("S0APPROVERS", "arize-approvers", [ALICE, BOB, REQUESTER, LEE])


@pytest.fixture
def slack_block(slack_emulator: SlackEmulatorServer, people: None) -> SlackApprovals:
    """The Slack app block pointed at the emulator (approver group given by handle)."""
    return SlackApprovals(
        bot_token=SLACK_BOT_TOKEN, channel="#arize-approvals", base_url=slack_emulator.base_url
    )


#: Approvers: the group (given by handle) and Carol by Slack id.
APPROVERS = ApprovalPolicy(
    approver_group="arize-approvers", approver_slack_ids=[CAROL], quorum=1, timeout_seconds=60
)


@pytest.fixture
def service(
    slack_emulator: SlackEmulatorServer, prefect_harness: str, tmp_path: Path
) -> Callable[[], Any]:
    """A factory of webhook-service instances (each a fresh ``create_app``) sharing nothing."""

    @asynccontextmanager
    async def start() -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings(
            environment="test",
            slack_signing_secret=SLACK_SIGNING_SECRET,
            slack_bot_token=SLACK_BOT_TOKEN,
            slack_base_url=slack_emulator.base_url,
            prefect_api_url=prefect_harness,
            forwarder_enabled=False,
            inbox_url=f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
        )
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://webhooks.test") as c:
            yield c

    return start


@flow(name="slack-approval-gate-test")
async def gated_flow(
    slack: SlackApprovals,
    policy: ApprovalPolicy,
    gate: str,
    fields: dict[str, Any],
    pause_seconds: int = 60,
    mark_on_timeout: bool = True,
) -> dict[str, Any]:
    """A click handler's counterpart: ask, pause, apply when the handler resumes with approval.

    The real gate (``tasks.approvals.gate``) re-checks the votes itself; these tests are about
    what the handler records and when it resumes.
    """
    run_id = str(flow_run.get_id())
    request = ApprovalRequest(
        run_id=run_id,
        gate=gate,
        expires_at=datetime.now(UTC) + timedelta(seconds=pause_seconds),
        timeout_seconds=pause_seconds,
        channel=slack.channel,
        policy=policy,
        **fields,
    )
    request = await post_approval_request(slack, request)
    # A retried or re-executed flow reaches the gate again: still one message.
    await post_approval_request.with_options(refresh_cache=True)(slack, request)
    try:
        decision = await apause_flow_run(
            wait_for_input=ApprovalAnswer.with_initial_data(description=request.subject),
            key=gate,
            timeout=pause_seconds,
            poll_interval=1,
        )
    except FlowPauseTimeout:
        if not mark_on_timeout:  # as a suspended run: no flow code runs on timeout
            raise
        await mark_expired(slack, request)
        return {"expired": True}
    if decision.approved:
        APPLIED.append(run_id)
    await post_run_result(slack, request, "Applied." if decision.approved else "Nothing changed.")
    return decision.model_dump()


def request_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "runbook": "offboard-user",
        "subject": "lee.leaver@acme.example",
        "trigger": "okta, event evt-1",
        "requested_by": REQUESTER,
        "protected": ["lee.leaver@acme.example"],
        "plan_hash": uuid.uuid4().hex * 2,
        "destructive": ["Revoke API key 'lee-laptop'", "Delete user lee.leaver@acme.example"],
        "changes": [
            RevokeKey(
                target="API key 'lee-laptop'", destructive=True,
                api_key_id="key-1", name="lee-laptop", key_type="USER",
            ).model_dump(mode="json"),
            DeleteUser(
                target="lee.leaver@acme.example", destructive=True,
                user_id="user-lee", email="lee.leaver@acme.example",
            ).model_dump(mode="json"),
        ],
        "trigger_evidence": TriggerEvidence(source="okta", event_id="evt-1", signed=True),
        "counts": {"revoke api key": 1, "delete user": 1},
    }
    fields.update(overrides)
    return fields


@dataclass
class GatedRun:
    """A gated flow running in its own thread, paused on ``gate`` once :meth:`paused` returns."""

    slack: SlackApprovals
    policy: ApprovalPolicy
    emulator: SlackEmulatorServer
    gate: str
    fields: dict[str, Any]
    timeout: int = 60
    mark_on_timeout: bool = True
    run_id: str = ""
    ts: str = ""
    state: State[Any] | None = None
    thread: threading.Thread | None = None
    errors: list[BaseException] = field(default_factory=list)

    def start(self) -> GatedRun:
        def target() -> None:
            try:
                self.state = asyncio.run(
                    gated_flow(
                        self.slack,
                        self.policy,
                        self.gate,
                        self.fields,
                        self.timeout,
                        self.mark_on_timeout,
                        return_state=True,
                    )
                )
            except BaseException as ex:  # surfaced by finished()
                self.errors.append(ex)

        self.thread = threading.Thread(target=target, daemon=True, name=f"flow-{self.gate}")
        self.thread.start()
        return self

    async def posted(self, deadline: float = 60) -> None:
        """Wait until the run has posted its approval message (the gate posts it, then pauses).

        A run with a pause of a few seconds may already have timed out by the time a poll of
        its state comes round (seen with the machine's CPU halved): such a test waits for the
        message, then for :meth:`finished`, and checks the pause afterwards with
        :meth:`was_paused`.
        """
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while not self.run_id:
            for message in self.emulator.messages()["messages"]:
                for block in message["blocks"]:
                    for element in block.get("elements", []):
                        parsed = parse_button_value(element.get("value", ""))
                        if parsed and parsed[1] == self.gate:
                            self.run_id, self.ts = parsed[0], message["ts"]
            self._check(loop.time() < end)
            await asyncio.sleep(0.1)

    async def paused(self, deadline: float = 60) -> FlowRun:
        """Wait until the run has posted its message and is paused on its gate."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        await self.posted(deadline)
        async with get_client() as client:
            while True:
                run = await client.read_flow_run(uuid.UUID(self.run_id))
                if run.state and run.state.is_paused():
                    assert run.state.state_details.pause_key == self.gate
                    return run
                self._check(loop.time() < end)
                await asyncio.sleep(0.1)

    async def was_paused(self) -> bool:
        """Whether the run's state history holds a pause on this run's gate."""
        async with get_client() as client:
            states = await client.read_flow_run_states(uuid.UUID(self.run_id))
        return any(
            s.is_paused() and s.state_details.pause_key == self.gate for s in states
        )

    async def state_now(self) -> FlowRun:
        async with get_client() as client:
            return await client.read_flow_run(uuid.UUID(self.run_id))

    async def finished(self, deadline: float = 60) -> State[Any]:
        """Wait for the flow's thread to end; its final state."""
        assert self.thread is not None
        await asyncio.to_thread(self.thread.join, deadline)
        self._check(not self.thread.is_alive())
        assert self.state is not None
        return self.state

    def click(self, user_id: str, action_id: str = "approve", **kwargs: Any) -> SignedRequest:
        """A signed click by ``user_id`` on this run's message."""
        message = self.message()
        return build_click(
            self.emulator.state,
            signing_secret=kwargs.pop("signing_secret", SLACK_SIGNING_SECRET),
            user_id=user_id,
            action_id=action_id,
            channel=message["channel"],
            ts=message["ts"],
            **kwargs,
        )

    def message(self) -> dict[str, Any]:
        """This run's approval message as the emulator holds it now."""
        for message in self.emulator.messages()["messages"]:
            if message["ts"] == self.ts:
                return message
        raise AssertionError("no approval message for this run")

    def _check(self, ok: bool) -> None:
        if self.errors:
            raise self.errors[0]
        assert ok, f"gated run {self.gate} timed out"


@pytest.fixture
def gated_run(
    slack_block: SlackApprovals, slack_emulator: SlackEmulatorServer, prefect_harness: str
) -> Iterator[Callable[..., GatedRun]]:
    """Start gated flows; each is cancelled-by-timeout at worst, never left hanging."""
    runs: list[GatedRun] = []

    def start(
        *,
        quorum: int = 1,
        timeout: int = 60,
        allow_requester: bool = False,
        mark_on_timeout: bool = True,
        **overrides: Any,
    ) -> GatedRun:
        policy = APPROVERS.model_copy(
            update={"quorum": quorum, "allow_requester": allow_requester}
        )
        run = GatedRun(
            slack=slack_block,
            policy=policy,
            emulator=slack_emulator,
            gate=f"offboard-{uuid.uuid4().hex[:8]}",
            fields=request_fields(**overrides),
            timeout=timeout,
            mark_on_timeout=mark_on_timeout,
        )
        runs.append(run.start())
        return run

    yield start
    for run in runs:
        if run.thread is not None and run.thread.is_alive() and run.run_id:
            asyncio.run(_reject(run.run_id))
        if run.thread is not None:
            run.thread.join(timeout=30)


async def _reject(run_id: str) -> None:
    async with get_client() as client:
        await client.resume_flow_run(
            uuid.UUID(run_id),
            run_input={"approved": False, "approver": "teardown", "comment": ""},
        )


async def send(client: httpx.AsyncClient, request: SignedRequest) -> httpx.Response:
    """POST a signed Slack request to the interactivity endpoint."""
    return await client.post(INTERACTIONS, content=request.body, headers=request.headers)
