"""``arize-runbooks access list|revoke|keep`` against the Prefect test harness and the emulator."""

from __future__ import annotations

import asyncio

from prefect import get_client
from typer.testing import CliRunner

from cli.main import app
from flows.time_bound_access.records import read_grant
from tests.access.conftest import binding_of, grant, spec

runner = CliRunner()


async def invoke(*args: str):
    # A wide terminal, so the table shows whole e-mails and ids.
    return await asyncio.to_thread(runner.invoke, app, list(args), env={"COLUMNS": "200"})


async def test_list_then_revoke_early_twice(arize, runbook_policy):
    outcome = await grant(spec(duration=600))
    listed = await invoke("access", "list")
    assert listed.exit_code == 0, listed.output
    assert outcome.grant_id in listed.output and "sam@acme.example" in listed.output

    first = await invoke("access", "revoke", outcome.grant_id, "--as", "ops@acme.example")
    second = await invoke("access", "revoke", outcome.grant_id, "--as", "ops@acme.example")

    assert first.exit_code == 0 and "revoked early by ops@acme.example" in first.output
    assert second.exit_code == 0 and "already ended" in second.output
    live = await binding_of(arize, "sam@acme.example", await _resource(outcome), "PROJECT")
    assert live is None
    assert outcome.grant_id not in (await invoke("access", "list")).output
    assert outcome.grant_id in (await invoke("access", "list", "--all")).output


async def test_kept_grant_is_left_at_revoke(arize, runbook_policy):
    outcome = await grant(spec(duration=600))
    kept = await invoke("access", "keep", outcome.grant_id)
    assert kept.exit_code == 0, kept.output

    await invoke("access", "revoke", outcome.grant_id)

    resource = await _resource(outcome)
    assert await binding_of(arize, "sam@acme.example", resource, "PROJECT") is not None


async def test_unknown_grant_is_a_clear_error(arize, runbook_policy):
    result = await invoke("access", "keep", "nosuchgrant")
    # CliRunner bypasses the App's reporter (which prints it and exits 2): the error itself.
    assert result.exit_code != 0 and "no access grant 'nosuchgrant'" in str(result.exception)


async def _resource(outcome) -> str:
    async with get_client() as client:
        return (await read_grant(client, outcome.grant_id)).resource_id
