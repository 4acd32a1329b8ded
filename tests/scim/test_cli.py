"""``arize-runbooks scim``: tokens created, listed and revoked; the request log shows each
request with the events it raised."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.main import app
from tests.scim.conftest import SCIM, running, user_body
from webhooks.inbox import Inbox
from webhooks.scim import tokens


@dataclass
class Result:
    exit_code: int
    output: str


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """The CLI in this process, as `arize-runbooks` runs it (expected failures exit 2)."""
    monkeypatch.setenv("COLUMNS", "250")

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        try:
            app(list(args), prog_name="arize-runbooks")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return Result(code, captured.out + captured.err)

    return invoke


def test_token_lifecycle(tmp_path: Path, cli: Callable[..., Result]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    created = cli("scim", "token", "create", "okta-prod", "--database-url", url)
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token.startswith(tokens.PREFIX)

    async def who() -> str | None:
        async with Inbox(url) as inbox:
            return await tokens.authenticate(inbox.engine, f"Bearer {token}")

    assert asyncio.run(who()) == "okta-prod"
    again = cli("scim", "token", "create", "okta-prod", "--database-url", url)
    assert again.exit_code == 2 and "taken" in again.output
    listed = cli("scim", "token", "list", "--database-url", url)
    assert "okta-prod" in listed.output and token not in listed.output
    revoked = cli("scim", "token", "revoke", "okta-prod", "--database-url", url)
    assert revoked.exit_code == 0, revoked.output
    assert asyncio.run(who()) is None
    twice = cli("scim", "token", "revoke", "okta-prod", "--database-url", url)
    assert twice.exit_code == 2 and "no live token" in twice.output


async def test_log_links_requests_to_events(tmp_path: Path, cli: Callable[..., Result]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    async with running(url) as scim:
        await scim.http.post(f"{SCIM}/Users", json=user_body("ada@acme.example"))
        [event] = await scim.events()
    result = await asyncio.to_thread(cli, "scim", "log", "--database-url", url)
    assert result.exit_code == 0, result.output
    assert "POST /scim/v2/Users" in result.output
    assert event.event_id in result.output and "onboard-team/onboard-team" in result.output
