"""A person in the Prefect UI: logs in, starts offboard-user from its custom-run form, finds
the run waiting at its approval gate, and answers it from the run's resume form, which the flow
then judges against the approval policy (UI votes allowed or not, permitted approvers).

Everything is real: ``prefect server start`` with basic auth, the runbooks deployed from
prefect.yaml, a process worker running the flow in a subprocess against the Arize emulator,
and headless Chromium clicking through the UI.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from uuid import UUID

import httpx
import pytest
from playwright.async_api import Locator, Page, expect
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.states import Cancelled

from blocks.arize import ArizeCredentials
from blocks.policy import RunbookPolicy
from core.approvals.rules import ApprovalPolicy
from tests.fixtures.browser import DEFAULT_TIMEOUT_MS, open_app
from tests.fixtures.runbooks import mutation_count
from tests.ui.conftest import PrefectUI

# The first test's bound counts the stack's start (a Prefect server with auth, the deployments,
# a worker) and the last one's its stop: on a slow machine (2026-12-07, `make test` 28.6 min)
# the first took 237 s to start and 120 s to run, and 360 s stopped it in its teardown.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

LEAVER = "lee.leaver@acme.example"  # in the emulator's demo seed
APPROVER = "alex.approver@acme.example"
GATE_TIMEOUT_MS = 120_000  # worker pick-up, flow subprocess start, plan
GATE_TIMEOUT_S = GATE_TIMEOUT_MS / 1000
# One UI request on a busy machine: the page's own bound, which Playwright's expect() does not
# use (its default is 5 s).
UI_TIMEOUT_MS = DEFAULT_TIMEOUT_MS


async def login(page: Page, ui: PrefectUI) -> None:
    """Open the UI and get past its login form with the auth string."""
    password = page.get_by_placeholder("admin:pass")
    await open_app(page, password, ui.server.ui_url)
    await password.fill(ui.login)
    await page.get_by_role("button", name="Login").click()
    await page.wait_for_url("**/dashboard**", wait_until="commit")


async def start_offboard_run(page: Page, *, email: str, reason: str) -> UUID:
    """Deployments → offboard-user → Run → Custom run; fill the spec; submit; open the run."""
    await page.get_by_role("link", name="Deployments").first.click()
    await page.get_by_role("link", name="offboard-user").first.click()
    await page.get_by_role("button", name="Run", exact=True).click()
    await page.get_by_role("menuitem", name="Custom run").click()
    # Optional fields start as None: choose the email type, then type into its box.
    await page.get_by_role("tab", name="email", exact=True).click()
    await page.get_by_role("tabpanel").locator("textarea").first.fill(email)
    await page.get_by_label("Reason").fill(reason)
    await click_until_accepted(
        page, page.get_by_role("button", name="Submit"), "/create_flow_run", 201
    )
    # The toast saying the run was scheduled links to it.
    await page.get_by_text("View run").first.click()
    await page.wait_for_url("**/runs/flow-run/**")
    match = re.search(r"/runs/flow-run/([0-9a-f-]{36})", page.url)
    assert match, page.url
    return UUID(match.group(1))


async def wait_until_suspended(ui: PrefectUI, page: Page, run_id: UUID) -> FlowRun:
    """Until the run waits at its gate (API), then until the run page's badge says so."""
    run = await wait_for_run(
        ui, run_id, lambda r: r.state.name == "Suspended", "reached its approval gate"
    )
    await expect(page.get_by_text("Suspended", exact=True).first).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    return run


async def answer_from_resume_form(
    page: Page, *, approved: bool, approver: str, comment: str
) -> None:
    """On the run page: ⋮ → Resume; the form generated from the gate's answer model; Resume."""
    # The run header's only menu button (its icon has no accessible name).
    await page.locator("[data-slot=dropdown-menu-trigger]").first.click()
    await page.get_by_role("menuitem", name="Resume").click()
    dialog = page.get_by_role("dialog")
    approved_switch = dialog.get_by_role("switch")
    if await approved_switch.get_attribute("aria-checked") != str(approved).lower():
        await approved_switch.click()
    await expect(approved_switch).to_have_attribute(
        "aria-checked", str(approved).lower(), timeout=UI_TIMEOUT_MS
    )
    await dialog.get_by_label(re.compile(r"^Approver(?!s)")).fill(approver)
    await dialog.get_by_label(re.compile(r"^Comment")).fill(comment)
    answer = await click_until_accepted(
        page, dialog.get_by_role("button", name="Resume", exact=True), "/resume", 201
    )
    assert answer["status"] == "ACCEPT", answer
    await expect(page.get_by_text("Flow run resumed")).to_be_visible(timeout=UI_TIMEOUT_MS)


async def wait_for_run(
    ui: PrefectUI, run_id: UUID, done: Callable[[FlowRun], bool], what: str
) -> FlowRun:
    """Poll the API until ``done(run)``; fail at once if the run ended otherwise."""
    deadline = asyncio.get_running_loop().time() + GATE_TIMEOUT_S
    while True:
        run = await read_run(ui, run_id)
        assert run.state is not None
        if done(run):
            return run
        if run.state.is_final() or asyncio.get_running_loop().time() > deadline:
            pytest.fail(
                f"run {run_id} never {what}; it is {run.state.name}: {run.state.message}; "
                f"worker log: {ui.worker_log}"
            )
        await asyncio.sleep(0.5)


async def run_logs(ui: PrefectUI, run_id: UUID) -> str:
    """Every log line of the run, oldest first, as one text."""
    async with ui.server.client() as client:
        logs = await client.read_logs(
            LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])), limit=200
        )
    return "\n".join(log.message for log in logs)


async def click_until_accepted(
    page: Page, button: Locator, path: str, expected: int, attempts: int = 6
) -> dict:
    """Click ``button`` until the API call to ``path`` it makes succeeds, as a person would
    after an error toast: a moment later. A 503 is Prefect's "retry me" (a SQLite lock on a
    busy machine): nothing was changed. Three clicks in a row were not enough in one CI run:
    the server's log showed `/resume` meeting "database is locked" at each within 5 s, while
    the worker and the run wrote to the same file.
    """
    for attempt in range(attempts):
        if attempt:
            await page.wait_for_timeout(1000 * attempt)
        async with page.expect_response(
            lambda r: r.url.endswith(path) and r.request.method == "POST", timeout=UI_TIMEOUT_MS
        ) as answered:
            await button.click()
        response = await answered.value
        if response.status != 503:
            break
    body = await response.text()
    assert response.status == expected, f"{path} answered {response.status}: {body}"
    return json.loads(body)


async def read_run(ui: PrefectUI, run_id: UUID) -> FlowRun:
    """The run as the API sees it."""
    async with ui.server.client() as client:
        return await client.read_flow_run(run_id)


async def cancel(ui: PrefectUI, run_id: UUID) -> None:
    """Cancel a run left waiting, so the worker has nothing of this test's afterwards."""
    async with ui.server.client() as client:
        await client.set_flow_run_state(run_id, Cancelled(), force=True)


def user_exists(arize, email: str) -> bool:
    """Whether the emulator's account still has a (not deleted) user with ``email``."""
    users = httpx.get(f"{arize.base_url}/_emulator/state", timeout=10).json()["users"]
    return any(u["email"] == email and u["deleted_at"] is None for u in users.values())


async def save_policy(ui: PrefectUI, arize, approval: ApprovalPolicy) -> RunbookPolicy:
    """Save the policy the deployed flows load ("default"), on the emulator's admin key."""
    policy = RunbookPolicy(
        credentials=ArizeCredentials(api_key=arize.admin_key, base_url=arize.base_url),
        approval=approval,
        poll_interval_seconds=1,
        rate_limit=None,
    )
    with ui.settings():
        await policy.asave("default", overwrite=True)
    return policy


async def test_a_run_started_from_the_ui_form_waits_at_its_approval_gate(
    deployed_runbooks: PrefectUI, arize, browser_page: Page, screenshot
) -> None:
    ui, page = deployed_runbooks, browser_page
    await save_policy(ui, arize, ApprovalPolicy(timeout_seconds=600, hold_seconds=0))
    assert user_exists(arize, LEAVER)

    await login(page, ui)
    await screenshot(page, "dashboard")
    run_id = await start_offboard_run(page, email=LEAVER, reason="Left the company (UI test)")
    try:
        run = await wait_until_suspended(ui, page, run_id)
        await screenshot(page, "suspended")

        assert run.state is not None
        assert run.state.type is StateType.PAUSED, run.state
        assert run.state.name == "Suspended"
        assert (run.state.state_details.pause_key or "").startswith("approve-")
        assert run.parameters["spec"]["email"] == LEAVER
        assert run.parameters["spec"]["reason"] == "Left the company (UI test)"
        # Waiting means nothing was changed yet.
        assert user_exists(arize, LEAVER)
        assert mutation_count(arize) == 0
    finally:
        await cancel(ui, run_id)


async def test_a_ui_answer_is_refused_when_the_policy_does_not_allow_ui_votes(
    deployed_runbooks: PrefectUI, arize, browser_page: Page, screenshot
) -> None:
    ui, page = deployed_runbooks, browser_page
    await save_policy(
        ui,
        arize,
        ApprovalPolicy(
            approver_emails=[APPROVER], ui_votes=False, timeout_seconds=600, hold_seconds=0
        ),
    )
    await login(page, ui)
    run_id = await start_offboard_run(page, email=LEAVER, reason="UI votes not allowed")
    try:
        first = await wait_until_suspended(ui, page, run_id)
        first_key = first.state.state_details.pause_key

        await answer_from_resume_form(
            page, approved=True, approver=APPROVER, comment="approve from the UI"
        )
        await screenshot(page, "answered")
        # The answer only wakes the run: it judges the vote, refuses it and waits again, under
        # a new pause key.
        again = await wait_for_run(
            ui,
            run_id,
            lambda r: r.state.name == "Suspended" and r.state.state_details.pause_key != first_key,
            "went back to waiting",
        )
        assert again.state.type is StateType.PAUSED
        await open_app(page, page.get_by_text("Suspended", exact=True).first)
        await wait_until_suspended(ui, page, run_id)
        await screenshot(page, "waiting-again")

        logs = await run_logs(ui, run_id)
        assert "An answer did not count" in logs, logs
        assert f"{APPROVER} via ui: answers via ui are not allowed by the policy" in logs, logs
        assert user_exists(arize, LEAVER)
        assert mutation_count(arize) == 0
    finally:
        await cancel(ui, run_id)


async def test_a_ui_answer_from_a_permitted_approver_applies_the_plan(
    deployed_runbooks: PrefectUI, arize, browser_page: Page, screenshot
) -> None:
    ui, page = deployed_runbooks, browser_page
    await save_policy(
        ui,
        arize,
        ApprovalPolicy(
            approver_emails=[APPROVER], ui_votes=True, quorum=1, timeout_seconds=600,
            hold_seconds=0,
        ),
    )
    await login(page, ui)
    run_id = await start_offboard_run(page, email=LEAVER, reason="UI votes allowed")
    try:
        await wait_until_suspended(ui, page, run_id)
        await answer_from_resume_form(
            page, approved=True, approver=APPROVER, comment="approved from the Prefect UI"
        )
        run = await wait_for_run(ui, run_id, lambda r: r.state.is_final(), "finished")
        assert run.state.type is StateType.COMPLETED, run.state
        await expect(page.get_by_text("Completed", exact=True).first).to_be_visible(
            timeout=UI_TIMEOUT_MS
        )
        await screenshot(page, "completed")
        assert not user_exists(arize, LEAVER)
        logs = await run_logs(ui, run_id)
        assert APPROVER in logs, logs
    finally:
        if not (await read_run(ui, run_id)).state.is_final():
            await cancel(ui, run_id)
