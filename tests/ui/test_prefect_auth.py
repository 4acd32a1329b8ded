"""The Prefect API behind basic auth: no string, no access; the UI asks for it on a login form.

Whoever holds the string administers this system (docs/security.md), so these tests check the
server refuses every other caller, and that the string never reaches the server's log.
"""

from __future__ import annotations

import asyncio
import base64
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import prefect.context
import pytest
from prefect import get_client
from prefect.client.orchestration import PrefectClient
from prefect.exceptions import PrefectHTTPStatusError

from cli.stack import LocalStack, PrefectServer
from tests.fixtures.browser import open_app
from tests.ui.conftest import ROOT, client_env

pytestmark = pytest.mark.slow


def basic(credentials: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header for ``credentials``."""
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def test_api_answers_only_requests_with_the_auth_string(authed_prefect: PrefectServer) -> None:
    assert authed_prefect.auth_string is not None
    secret = authed_prefect.auth_string.get_secret_value()
    url = f"{authed_prefect.api_url}/flows/filter"

    assert httpx.post(url, json={}, timeout=10).status_code == 401
    assert httpx.post(url, json={}, headers=basic("admin:guess"), timeout=10).status_code == 401
    assert httpx.post(url, json={}, headers=basic(secret + "x"), timeout=10).status_code == 401
    ok = httpx.post(url, json={}, headers=basic(secret), timeout=10)
    assert ok.status_code == 200, ok.text
    # Probes stay open so a supervisor can watch the server without the credentials.
    assert httpx.get(f"{authed_prefect.api_url}/health", timeout=10).status_code == 200
    # The UI learns that it must show a login form, not the string.
    ui = httpx.get(f"{authed_prefect.ui_url}/ui-settings", timeout=10).json()
    assert ui["auth"] == "BASIC"
    assert secret not in str(ui)


async def test_prefect_client_needs_the_auth_string(authed_prefect: PrefectServer) -> None:
    async with PrefectClient(authed_prefect.api_url) as anonymous:
        with pytest.raises(PrefectHTTPStatusError) as refused:
            await anonymous.read_work_pools()
        assert refused.value.response.status_code == 401

    async with authed_prefect.client() as client:
        pools = await client.read_work_pools()
    assert isinstance(pools, list)


def test_cli_subprocess_works_with_the_stack_environment(authed_prefect: PrefectServer) -> None:
    command = [sys.executable, "-m", "prefect", "work-pool", "ls"]
    env = client_env(authed_prefect)
    ok = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    without = {k: v for k, v in env.items() if k != "PREFECT_API_AUTH_STRING"}
    refused = subprocess.run(
        command, cwd=ROOT, env=without, capture_output=True, text=True, timeout=120
    )
    assert refused.returncode != 0
    assert "401" in refused.stdout + refused.stderr


def test_the_auth_string_never_reaches_the_server_log(authed_prefect: PrefectServer) -> None:
    assert authed_prefect.auth_string is not None
    token = authed_prefect.auth_string.get_secret_value().split(":", 1)[1]
    assert (authed_prefect.home / "server.log").stat().st_size > 0
    assert token not in (authed_prefect.home / "server.log").read_text(errors="replace")
    assert token not in repr(authed_prefect.auth_string)


async def test_ui_login_form_refuses_a_wrong_string_and_accepts_the_right_one(
    authed_prefect: PrefectServer, browser_page, screenshot
) -> None:
    assert authed_prefect.auth_string is not None
    page = browser_page
    password = page.get_by_placeholder("admin:pass")
    await open_app(page, password, authed_prefect.ui_url)
    await page.wait_for_url("**/login**", wait_until="commit")
    await password.fill("admin:guess")
    await page.get_by_role("button", name="Login").click()
    await page.get_by_text("Invalid credentials").wait_for()
    await screenshot(page, "refused")
    assert "/login" in page.url

    await password.fill(authed_prefect.auth_string.get_secret_value())
    await page.get_by_role("button", name="Login").click()
    await page.wait_for_url("**/dashboard**", wait_until="commit")
    await page.get_by_role("link", name="Deployments").first.wait_for()
    await screenshot(page, "dashboard")


def test_local_stack_hands_the_auth_string_to_its_clients_only(tmp_path: Path) -> None:
    before = {key: os.environ.get(key) for key in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING")}
    settings_before = prefect.context.GLOBAL_SETTINGS_CONTEXT
    with LocalStack(tmp_path) as stack:
        assert stack.prefect.auth_string is not None
        secret = stack.prefect.auth_string.get_secret_value()
        assert secret.startswith("admin:") and len(secret) > 30
        response = httpx.post(f"{stack.prefect.api_url}/flows/filter", json={}, timeout=10)
        assert response.status_code == 401

        # Threads (the webhook service's) and subprocesses (CLI, worker) get it from Prefect's
        # process-wide settings and the environment.
        def in_thread() -> int:
            async def pools() -> int:
                async with get_client() as client:
                    return len(await client.read_work_pools())

            return asyncio.run(pools())

        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(in_thread).result(timeout=60) >= 0
        cli = subprocess.run(
            [sys.executable, "-m", "prefect", "work-pool", "ls"],
            cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120,
        )
        assert cli.returncode == 0, cli.stdout + cli.stderr

        # A person gets it from a file only they can read, never from the console.
        assert stack.auth_file.read_text() == secret
        assert stat.S_IMODE(stack.auth_file.stat().st_mode) == 0o600
        assert secret.split(":", 1)[1] not in stack.prefect_auth_note
    assert {key: os.environ.get(key) for key in before} == before
    assert prefect.context.GLOBAL_SETTINGS_CONTEXT is settings_before
