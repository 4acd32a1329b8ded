"""A person in the Prefect UI: logs in, starts offboard-user from its custom-run form, and finds
the run waiting at its approval gate.

Everything is real: ``prefect server start`` with basic auth, the runbooks deployed from
prefect.yaml, a process worker running the flow in a subprocess against the Arize emulator,
and headless Chromium clicking through the UI.
"""

from __future__ import annotations

import re
from uuid import UUID

import httpx
import pytest
from playwright.async_api import Page, expect
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.states import Cancelled

from blocks.arize import ArizeCredentials
from blocks.policy import RunbookPolicy
from tests.fixtures.runbooks import mutation_count
from tests.ui.conftest import PrefectUI

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

LEAVER = "lee.leaver@acme.example"  # in the emulator's demo seed
GATE_TIMEOUT_MS = 120_000  # worker pick-up, flow subprocess start, plan


async def login(page: Page, ui: PrefectUI) -> None:
    """Open the UI and get past its login form with the auth string."""
    await page.goto(ui.server.ui_url)
    await page.get_by_placeholder("admin:pass").fill(ui.login)
    await page.get_by_role("button", name="Login").click()
    await page.wait_for_url("**/dashboard**")


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
    await page.get_by_role("button", name="Submit").click()
    # The toast saying the run was scheduled links to it.
    await page.get_by_text("View run").first.click()
    await page.wait_for_url("**/runs/flow-run/**")
    match = re.search(r"/runs/flow-run/([0-9a-f-]{36})", page.url)
    assert match, page.url
    return UUID(match.group(1))


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


async def save_policy(ui: PrefectUI, arize, **fields) -> RunbookPolicy:
    """Save the policy the deployed flows load ("default"), on the emulator's admin key."""
    policy = RunbookPolicy(
        credentials=ArizeCredentials(api_key=arize.admin_key, base_url=arize.base_url),
        poll_interval_seconds=1,
        rate_limit=None,
        **fields,
    )
    with ui.settings():
        await policy.asave("default", overwrite=True)
    return policy


async def test_a_run_started_from_the_ui_form_waits_at_its_approval_gate(
    deployed_runbooks: PrefectUI, arize, browser_page: Page, screenshot
) -> None:
    ui, page = deployed_runbooks, browser_page
    await save_policy(ui, arize, approval_timeout_seconds=600)
    assert user_exists(arize, LEAVER)

    await login(page, ui)
    await screenshot(page, "dashboard")
    run_id = await start_offboard_run(page, email=LEAVER, reason="Left the company (UI test)")
    try:
        # The run page shows the state badge; it refreshes on its own while the run progresses.
        await expect(page.get_by_text("Suspended", exact=True).first).to_be_visible(
            timeout=GATE_TIMEOUT_MS
        )
        await screenshot(page, "suspended")

        run = await read_run(ui, run_id)
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
