"""`setup` makes Prefect ready (and changes only what differs on a rerun); `doctor` finds each
broken part against the emulators: a revoked key, a non-admin key, a Slack token lacking a
scope, a channel without the bot, Prefect down."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator

import pytest
import yaml

from arize_admin import ApiKeyType, AsyncArizeAdmin
from blocks.policy import RunbookPolicy
from cli.doctor import manifest_scopes
from cli.stack import free_port
from tests.cli.conftest import ROOT, Result, cli_once, save_policy
from tests.fixtures.arize import ADMIN_KEY, reset_arize_emulator
from tests.fixtures.slack import SLACK_BOT_TOKEN

pytestmark = pytest.mark.slow

SIGNING_SECRET = "doctor-test-signing-secret-5d1c"
ROUTING = str(ROOT / "examples" / "routing.yaml")


def setup_args(arize_url: str, slack_url: str, *extra: str) -> list[str]:
    return [
        "setup", "--no-input", "--output", "json",
        "--arize-api-key", ADMIN_KEY, "--arize-base-url", arize_url,
        "--slack", "--slack-bot-token", SLACK_BOT_TOKEN, "--slack-channel", "#arize-approvals",
        "--slack-base-url", slack_url,
        "--approver-slack-id", "U0APPROVER", "--quorum", "1",
        *extra,
    ]


def parts(result: Result) -> dict[str, tuple[str, str]]:
    """``--output json`` of setup: part → (result, detail)."""
    assert result.code == 0, result.text
    return {p["part"]: (p["result"], p["detail"]) for p in json.loads(result.out)["parts"]}


def rows(result: Result) -> dict[str, dict[str, str]]:
    """``--output json`` of doctor, by "part/check"."""
    report = json.loads(result.out)
    return {f"{c['part']}/{c['name']}": c for c in report["checks"]}


def failing(result: Result) -> set[str]:
    return {name for name, c in rows(result).items() if c["status"] == "fail"}


async def forget_setup() -> None:
    """Remove what setup creates: other tests share the Prefect server and leave some behind."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    from ops.crash_recovery import crash_recovery_automations

    deployments = {d["name"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())[
        "deployments"
    ]}
    async with get_client() as client:
        with contextlib.suppress(ObjectNotFound):
            policy = await client.read_block_document_by_name("default", "arize-runbook-policy")
            await client.delete_block_document(policy.id)
        for deployment in await client.read_deployments():
            if deployment.name in deployments:
                await client.delete_deployment(deployment.id)
        with contextlib.suppress(ObjectNotFound):
            await client.delete_work_pool("arize-runbooks")
        with contextlib.suppress(ObjectNotFound):
            await client.delete_global_concurrency_limit_by_name("arize-api")
        for wanted in crash_recovery_automations():
            for found in await client.read_automations_by_name(wanted.name):
                await client.delete_automation(found.id)


@pytest.fixture(scope="module")
def first_setup(arize_emulator, slack_emulator, prefect_harness) -> Iterator[Result]:
    """`arize-runbooks setup` once for the module, as a person would run it first.

    Set up before the per-test resets, so it resets both emulators itself: the worker's
    previous module may have left another admin key or a Slack workspace without the bot."""
    reset_arize_emulator(arize_emulator)
    slack_emulator.reset()
    asyncio.run(forget_setup())
    yield cli_once(*setup_args(arize_emulator.base_url, slack_emulator.base_url))


#: A secret for every source examples/routing.yaml routes: `serve` refuses to start without.
SOURCE_SECRETS = {
    "ARIZE_RUNBOOKS_OKTA_SECRET": "okta-doctor-secret-19ab",
    "ARIZE_RUNBOOKS_BAMBOOHR_SECRET": "bamboohr-doctor-secret-77cd",
    "ARIZE_RUNBOOKS_JIRA_SECRET": "jira-doctor-secret-5e21",
    "ARIZE_RUNBOOKS_SERVICENOW_TOKEN": "servicenow-doctor-token-0b3f",
    "ARIZE_RUNBOOKS_GENERIC_SECRET": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}


@pytest.fixture
def healthy(first_setup, arize, slack_emulator, monkeypatch) -> None:
    """A Slack workspace with the approvals channel and the bot in it; the service's secrets."""
    assert first_setup.code == 0, first_setup.text
    slack_emulator.state.add_channel("arize-approvals")
    monkeypatch.setenv("ARIZE_RUNBOOKS_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    for name, value in SOURCE_SECRETS.items():
        monkeypatch.setenv(name, value)


def doctor(cli, *args: str) -> Result:
    return cli("doctor", "--output", "json", "--routing", ROUTING, *args)


def test_first_setup_creates_every_part(first_setup):
    done = parts(first_setup)
    assert done["policy 'default'"] == ("created", "Slack approvals")
    assert done["work pool"] == ("created", "arize-runbooks (process)")
    assert done["rate limit 'arize-api'"] == ("created", "10/s")
    assert done["crash-recovery automations"][0] == "created"
    result, deployed = done["deployments"]
    assert result == "updated"  # `prefect deploy` ran for each runbook missing
    wanted = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    assert set(deployed.split(", ")) == {d["name"] for d in wanted}


def test_a_second_setup_changes_nothing_and_says_so(first_setup, cli, arize_emulator,
                                                     slack_emulator):
    result = cli(*setup_args(arize_emulator.base_url, slack_emulator.base_url))

    assert {outcome for outcome, _ in parts(result).values()} == {"unchanged"}
    assert json.loads(result.out)["changed"] == 0


def test_setup_changes_only_what_differs(first_setup, cli, arize_emulator, slack_emulator):
    try:
        result = cli(*setup_args(arize_emulator.base_url, slack_emulator.base_url,
                                 "--quorum", "2", "--rate-limit-per-second", "5"))
        done = parts(result)
        assert done["policy 'default'"] == ("updated", "approval.quorum")
        assert done["rate limit 'arize-api'"] == ("updated", "10/s → 5/s")
        assert json.loads(result.out)["changed"] == 2
        policy = asyncio.run(RunbookPolicy.aload("default"))
        assert policy.approval.quorum == 2
        assert policy.credentials.api_key.get_secret_value() == ADMIN_KEY
        assert ADMIN_KEY not in result.text and SLACK_BOT_TOKEN not in result.text
    finally:
        cli(*setup_args(arize_emulator.base_url, slack_emulator.base_url))


def test_setup_table_says_what_it_did(first_setup, cli, arize_emulator, slack_emulator):
    args = [a for a in setup_args(arize_emulator.base_url, slack_emulator.base_url)
            if a not in {"--output", "json"}]
    result = cli(*args)

    assert result.code == 0
    assert "arize-runbooks setup" in result.out and "0 part(s) changed" in result.text


def test_setup_without_a_key_names_the_flag_and_saves_nothing(cli, prefect_harness):
    result = cli("setup", "--no-input", "--policy", "never-set-up", "--no-deploy")

    assert result.code == 2
    assert "no Arize API key given and none saved" in result.text
    assert "--arize-api-key or set ARIZE_API_KEY" in result.text
    assert "no runbook policy 'never-set-up'" in cli("doctor", "--policy", "never-set-up",
                                                       "--output", "json").text


def test_doctor_passes_on_a_healthy_setup(healthy, cli):
    result = doctor(cli)

    assert result.code == 0, result.out
    report = rows(result)
    assert set(failing(result)) == set()
    assert report["arize/API key"]["status"] == "ok"
    scopes = report["slack/scopes"]["detail"]
    assert scopes == f"{len(manifest_scopes())} scopes of the manifest granted"
    assert report["slack/channel"]["status"] == "ok"
    assert report["prefect/deployments"]["status"] == "ok"
    assert report["webhooks/routing"]["status"] == "ok"
    assert report["environment/service key"]["status"] == "ok"
    assert report["environment/source okta"]["status"] == "ok"


def test_doctor_counts_deployments_as_the_ui_lists_them(healthy, cli):
    from prefect import get_client

    async def listed() -> int:
        async with get_client() as client:
            return len([d for d in await client.read_deployments()
                        if d.work_pool_name == "arize-runbooks"])

    from flows.registry import REGISTRY

    detail = rows(doctor(cli))["prefect/deployments"]["detail"]

    # Old main said "7 runbooks deployed" while the UI listed 9: every deployment is counted,
    # the runbooks of the registry among them.
    listed_now = asyncio.run(listed())
    assert listed_now > len(REGISTRY)
    assert detail == (
        f"{listed_now} deployments ({len(REGISTRY)} runbooks, "
        f"{listed_now - len(REGISTRY)} helper flows)"
    )


def test_doctor_finds_a_missing_service_key(healthy, cli, monkeypatch, tmp_path):
    monkeypatch.delenv("ARIZE_RUNBOOKS_SERVICE_KEY")
    monkeypatch.setenv("ARIZE_RUNBOOKS_ENV_FILE", str(tmp_path / "never-written"))

    result = doctor(cli)

    assert result.code == 2
    assert {"environment/service key", "environment/env file"} <= failing(result)
    assert "ARIZE_RUNBOOKS_SERVICE_KEY is not set" in rows(result)["environment/service key"][
        "detail"]


def test_doctor_names_a_routed_source_without_its_secret(healthy, cli, monkeypatch):
    monkeypatch.delenv("ARIZE_RUNBOOKS_JIRA_SECRET")

    result = doctor(cli)

    assert failing(result) == {"environment/source jira"}
    assert "ARIZE_RUNBOOKS_JIRA_SECRET is not set" in rows(result)["environment/source jira"][
        "detail"]


def test_doctor_says_when_the_shell_and_the_env_file_hold_different_keys(healthy, cli,
                                                                          monkeypatch):
    monkeypatch.setenv("ARIZE_RUNBOOKS_SERVICE_KEY", "another-key-than-the-env-files-4411")

    result = doctor(cli)

    assert failing(result) == {"environment/service key"}
    assert "differs from the env file's" in rows(result)["environment/service key"]["detail"]
    assert "another-key-than-the-env-files-4411" not in result.text


def test_setup_writes_the_env_file_0600_and_keeps_its_service_key(first_setup, cli,
                                                                   arize_emulator,
                                                                   slack_emulator):
    from config.env_file import env_file_path, read_env_file

    path = env_file_path()
    assert path.stat().st_mode & 0o777 == 0o600
    first = read_env_file(path)
    assert first["ARIZE_RUNBOOKS_SLACK_BOT_TOKEN"] == SLACK_BOT_TOKEN
    assert first["PREFECT_API_URL"]

    again = parts(cli(*setup_args(arize_emulator.base_url, slack_emulator.base_url)))

    assert again["env file"][0] == "unchanged"
    assert read_env_file(path)["ARIZE_RUNBOOKS_SERVICE_KEY"] == first["ARIZE_RUNBOOKS_SERVICE_KEY"]


def test_setup_refuses_a_wrong_key_and_saves_nothing(first_setup, cli, arize_emulator,
                                                      slack_emulator):
    args = setup_args(arize_emulator.base_url, slack_emulator.base_url, "--policy", "wrong-key")
    args[args.index(ADMIN_KEY)] = "ak-wrong-0000000000000000000000000000"

    result = cli(*args)

    assert result.code == 2
    assert "Arize refused the API key (401)" in result.text and "--skip-checks" in result.text
    assert "no runbook policy 'wrong-key'" in doctor(cli, "--policy", "wrong-key").text

    saved = cli(*args, "--skip-checks", "--no-deploy")
    assert parts(saved)["policy 'wrong-key'"][0] == "created"


def test_setup_explains_a_key_without_admin_rights(first_setup, cli, arize, slack_emulator):
    args = setup_args(arize.base_url, slack_emulator.base_url, "--policy", "member-key")
    args[args.index(ADMIN_KEY)] = arize.key_for_email("dana@acme.example")

    result = cli(*args)

    assert result.code == 2
    assert "may not read the audit log (403)" in result.text and "account admin" in result.text


def test_doctor_table_is_readable(healthy, cli):
    result = cli("doctor", "--routing", ROUTING)

    assert result.code == 0
    assert "arize-runbooks doctor" in result.out and "all good" in result.out


def test_doctor_finds_a_revoked_key(healthy, cli, arize):
    key = _revoked_admin_key(arize)
    save_policy("revoked", _policy_with_key(key))

    result = doctor(cli, "--policy", "revoked")

    assert result.code == 2
    assert "arize/API key" in failing(result)
    assert "401" in rows(result)["arize/API key"]["detail"]
    assert key not in result.out


def test_doctor_finds_a_key_without_admin_rights(healthy, cli, arize):
    save_policy("member", _policy_with_key(arize.key_for_email("dana@acme.example")))

    result = doctor(cli, "--policy", "member")

    assert result.code == 2
    report = rows(result)
    assert report["arize/API key"]["status"] == "ok"  # it authenticates…
    offboard = report["arize/rights: offboard-user"]
    assert offboard["status"] == "fail"  # …but cannot read what offboarding needs
    assert "403" in offboard["detail"] and "admin rights" in offboard["fix"]


def test_doctor_finds_a_missing_slack_scope(healthy, cli, slack_emulator):
    granted = [s for s in manifest_scopes() if s != "usergroups:read"]
    slack_emulator.state.set_scopes(granted)

    result = doctor(cli)

    assert failing(result) == {"slack/scopes"}
    assert rows(result)["slack/scopes"]["detail"] == "the token lacks usergroups:read"
    assert result.code == 2


def test_doctor_finds_a_channel_without_the_bot(healthy, cli, slack_emulator):
    slack_emulator.state.add_channel("arize-approvals", channel_id="C00000001", is_member=False)

    result = doctor(cli)

    assert "slack/channel" in failing(result)
    assert "/invite" in rows(result)["slack/channel"]["fix"]


def test_doctor_finds_an_unset_signing_secret(healthy, cli, monkeypatch):
    monkeypatch.delenv("ARIZE_RUNBOOKS_SLACK_SIGNING_SECRET")

    result = doctor(cli)

    assert failing(result) == {"environment/signing secret"}


def test_doctor_finds_prefect_down(cli_subprocess):
    dead = f"http://127.0.0.1:{free_port()}/api"

    result = cli_subprocess("doctor", "--output", "json", env={"PREFECT_API_URL": dead})

    assert result.code == 2
    report = rows(result)
    assert report["prefect/API"]["status"] == "fail"
    assert "prefect server start" in report["prefect/API"]["fix"]
    assert report["arize/API key"]["status"] == "skip"


def _policy_with_key(key: str) -> RunbookPolicy:
    policy = asyncio.run(RunbookPolicy.aload("default"))
    policy.credentials = policy.credentials.model_copy(update={"api_key": key})
    return policy


def _revoked_admin_key(arize) -> str:
    """A real user key of the account admin, issued and then revoked through the API."""
    admin_id = arize.user_id("admin@acme.example")
    key = arize.control("POST", "keys", json={"user_id": admin_id, "name": "to-revoke"})["key"]

    async def revoke() -> None:
        async with AsyncArizeAdmin(api_key=arize.admin_key, base_url=arize.base_url) as client:
            async for found in client.api_keys.list(key_type=ApiKeyType.USER):
                if found.name == "to-revoke":
                    await client.api_keys.revoke(found.id)

    asyncio.run(revoke())
    return key
