"""One configuration: the README's exports are what the code reads, the env file `setup`
writes, and the processes that refuse to start half-configured, naming the variable.

The subprocess tests start from an environment without any ARIZE_RUNBOOKS_* of the test
process and an env file of their own, so nothing of the conftest's configuration helps them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, Result
from tests.cli.test_readme import first_hour_exports
from tests.fixtures.slack import SLACK_BOT_TOKEN

ROUTING_OKTA = str(ROOT / "examples" / "routing-okta.yaml")
ROUTING_ALL = str(ROOT / "examples" / "routing.yaml")


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ARIZE_RUNBOOKS_* or SLACK_* in this process; an env file path nobody wrote."""
    for name in list(os.environ):
        if name.startswith(("ARIZE_RUNBOOKS_", "SLACK_")):
            monkeypatch.delenv(name)
    env_file = tmp_path / "env"
    monkeypatch.setenv("ARIZE_RUNBOOKS_ENV_FILE", str(env_file))
    return env_file


def test_every_readme_export_is_what_the_code_reads(bare_env, monkeypatch):
    from webhooks.settings import Settings

    exports = first_hour_exports()
    for name, value in exports.items():
        monkeypatch.setenv(name, value.replace("…", "") + "value-from-the-readme")

    settings = Settings()

    # Old main: the README exported SLACK_BOT_TOKEN and `serve` read only
    # ARIZE_RUNBOOKS_SLACK_BOT_TOKEN, so Slack clicks got 404 "slack is not configured".
    assert settings.slack_bot_token is not None
    assert settings.slack_signing_secret is not None
    assert settings.okta_secret is not None
    project = {n for n in exports if n.startswith("ARIZE_RUNBOOKS_")}
    read = {f"ARIZE_RUNBOOKS_{f.upper()}" for f in Settings.model_fields}
    assert project <= read, project - read


def test_slack_bot_token_is_accepted_under_slack_s_own_name(bare_env, monkeypatch):
    from config.settings import RunbooksSettings

    monkeypatch.setenv("SLACK_BOT_TOKEN", SLACK_BOT_TOKEN)

    assert RunbooksSettings().slack_bot_token.get_secret_value() == SLACK_BOT_TOKEN


def test_env_file_is_0600_and_the_environment_wins(bare_env, monkeypatch):
    from config.env_file import load_env_file, write_env_file

    write_env_file({"ARIZE_RUNBOOKS_OKTA_SECRET": "from-the-file-1234",
                    "ARIZE_RUNBOOKS_JIRA_SECRET": "jira-from-the-file-5678"})
    monkeypatch.setenv("ARIZE_RUNBOOKS_OKTA_SECRET", "from-the-shell-9999")

    loaded = load_env_file()

    assert bare_env.stat().st_mode & 0o777 == 0o600
    assert loaded == {"ARIZE_RUNBOOKS_JIRA_SECRET": "jira-from-the-file-5678"}
    assert os.environ["ARIZE_RUNBOOKS_OKTA_SECRET"] == "from-the-shell-9999"


def run_bare(*args: str, env_file: Path, without: tuple[str, ...] = (), **env: str) -> Result:
    """The CLI in a subprocess with no ARIZE_RUNBOOKS_* / SLACK_* (nor any variable starting
    with one of ``without``) but ``env`` and the file."""
    dropped = ("ARIZE_RUNBOOKS_", "SLACK_", *without)
    bare = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", *args], cwd=ROOT, capture_output=True, text=True,
        env={**bare, "COLUMNS": "300", "ARIZE_RUNBOOKS_ENV_FILE": str(env_file), **env},
        timeout=180,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def _serve(env_file: Path, routing: str, **env: str) -> Result:
    return run_bare("serve", "--config", routing, "--port", "1", env_file=env_file, **env)


def test_serve_refuses_half_configured_slack(bare_env):
    result = _serve(bare_env, ROUTING_OKTA,
                    ARIZE_RUNBOOKS_SERVICE_KEY="a-service-key-for-this-test-0001",
                    ARIZE_RUNBOOKS_OKTA_SECRET="okta-secret-for-this-test-01",
                    ARIZE_RUNBOOKS_SLACK_BOT_TOKEN=SLACK_BOT_TOKEN)

    # Old main started (and served until killed) with Slack half-configured.
    assert result.code == 2, result.text
    assert "ARIZE_RUNBOOKS_SLACK_SIGNING_SECRET is not set" in result.text
    assert "fix:" in result.text


def test_serve_refuses_a_routed_source_without_its_secret(bare_env):
    result = _serve(bare_env, ROUTING_ALL,
                    ARIZE_RUNBOOKS_SERVICE_KEY="a-service-key-for-this-test-0001",
                    ARIZE_RUNBOOKS_OKTA_SECRET="okta-secret-for-this-test-01")

    assert result.code == 2, result.text
    for variable in ("ARIZE_RUNBOOKS_BAMBOOHR_SECRET", "ARIZE_RUNBOOKS_JIRA_SECRET",
                     "ARIZE_RUNBOOKS_GENERIC_SECRET"):
        assert f"{variable} is not set" in result.text
    assert "ARIZE_RUNBOOKS_OKTA_SECRET" not in result.text
    assert "okta-secret-for-this-test-01" not in result.text


def test_serve_refuses_without_the_service_key_and_reads_it_from_the_env_file(bare_env):
    from config.env_file import write_env_file

    result = _serve(bare_env, ROUTING_OKTA, ARIZE_RUNBOOKS_OKTA_SECRET="okta-secret-for-test-01")
    assert result.code == 2, result.text
    assert "ARIZE_RUNBOOKS_SERVICE_KEY is not set" in result.text

    write_env_file({"ARIZE_RUNBOOKS_SERVICE_KEY": "a-service-key-in-the-file-0002",
                    "ARIZE_RUNBOOKS_OKTA_SECRET": "okta-secret-in-the-file-02",
                    "ARIZE_RUNBOOKS_SLACK_BOT_TOKEN": SLACK_BOT_TOKEN}, bare_env)
    again = _serve(bare_env, ROUTING_OKTA)

    # The file's key and secrets were read: only the signing secret is missing now.
    assert again.code == 2, again.text
    assert "ARIZE_RUNBOOKS_SERVICE_KEY" not in again.text
    assert "ARIZE_RUNBOOKS_OKTA_SECRET" not in again.text
    assert "ARIZE_RUNBOOKS_SLACK_SIGNING_SECRET is not set" in again.text


def _serve_without_prefect(env_file: Path, home: Path, port: int) -> Result:
    """``serve`` configured but for Prefect: no PREFECT_* variable, an empty Prefect home (no
    profile naming an API), a SQLite inbox of the test's own."""
    return run_bare(
        "serve", "--config", ROUTING_OKTA, "--port", str(port), env_file=env_file,
        without=("PREFECT_",), PREFECT_HOME=str(home),
        ARIZE_RUNBOOKS_INBOX_URL=f"sqlite+aiosqlite:///{home / 'inbox.db'}",
        ARIZE_RUNBOOKS_SERVICE_KEY="a-service-key-for-this-test-0003",
        ARIZE_RUNBOOKS_OKTA_SECRET="okta-secret-for-this-test-03",
    )


def test_serve_refuses_without_a_prefect_api_and_reads_it_from_the_env_file(
    bare_env: Path, tmp_path: Path
) -> None:
    from config.env_file import write_env_file

    # A port taken: past every check, `serve` fails to bind and exits, instead of serving.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = _serve_without_prefect(bare_env, tmp_path, port)
        # Old main started Prefect's temporary server inside `serve`: events were marked
        # forwarded to runs no worker polls, and that server outlived `serve`.
        assert result.code == 2, result.text
        assert "PREFECT_API_URL is not set" in result.text
        assert "fix: set PREFECT_API_URL" in result.text
        assert "temporary server" not in result.text

        # As `setup` writes it: the env file's PREFECT_API_URL is enough.
        write_env_file({"PREFECT_API_URL": "http://127.0.0.1:9/api"}, bare_env)
        again = _serve_without_prefect(bare_env, tmp_path, port)
    assert "PREFECT_API_URL is not set" not in again.text
    assert "temporary server" not in again.text
    # Not refused (2): it got as far as binding, which uvicorn reports as a failed start.
    assert again.code not in (0, 2) and "address already in use" in again.text, again.text


def test_worker_refuses_without_the_service_key(bare_env):
    result = run_bare("worker", env_file=bare_env, PREFECT_API_URL="http://127.0.0.1:1/api")

    assert result.code == 2, result.text
    assert "ARIZE_RUNBOOKS_SERVICE_KEY" in result.text and "arize-runbooks setup" in result.text


def test_send_test_event_names_the_missing_secret(bare_env, cli):
    result = cli("send-test-event", "jira", "--email", "lee.leaver@acme.example",
                 "--url", "http://127.0.0.1:1")

    assert result.code == 2
    assert "set ARIZE_RUNBOOKS_JIRA_SECRET" in result.text


def test_emulator_starts_the_slack_emulator_from_the_cli(tmp_path):
    from slack_sdk import WebClient

    from cli.stack import free_port

    port, slack_port = free_port(), free_port()
    log = tmp_path / "emulator.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "emulator", "--port", str(port),
         "--slack-port", str(slack_port), "--admin-key", "ak-emulator-cli-test-0000000000000000"],
        cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    try:
        client = WebClient(token="xoxb-any", base_url=f"http://127.0.0.1:{slack_port}/api/")
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()
            try:
                answer = client.auth_test()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert answer["ok"]
        channels = client.conversations_list()["channels"]
        assert [c["name"] for c in channels] == ["arize-approvals"]
        assert channels[0]["is_member"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_refuses_several_workers_on_a_sqlite_inbox(bare_env: Path, tmp_path: Path) -> None:
    configured = {
        "ARIZE_RUNBOOKS_SERVICE_KEY": "a-service-key-for-this-test-0004",
        "ARIZE_RUNBOOKS_OKTA_SECRET": "okta-secret-for-this-test-04",
        "ARIZE_RUNBOOKS_INBOX_URL": f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}",
        "PREFECT_API_URL": "http://127.0.0.1:9/api",
    }
    by_option = run_bare("serve", "--config", ROUTING_OKTA, "--port", "1", "--workers", "2",
                         env_file=bare_env, **configured)
    by_variable = _serve(bare_env, ROUTING_OKTA, ARIZE_RUNBOOKS_SERVE_WORKERS="3", **configured)

    # Each worker would be a writer of its own on SQLite's one file lock.
    assert by_option.code == 2, by_option.text
    assert "ARIZE_RUNBOOKS_SERVE_WORKERS (--workers) is 2" in by_option.text
    assert "need a PostgreSQL inbox" in by_option.text
    assert "ARIZE_RUNBOOKS_INBOX_URL to postgresql+asyncpg://" in by_option.text
    assert by_variable.code == 2, by_variable.text
    assert "ARIZE_RUNBOOKS_SERVE_WORKERS (--workers) is 3" in by_variable.text
    assert not (tmp_path / "inbox.db").exists()  # refused before anything was opened


def test_serve_refuses_an_invalid_scim_setting_naming_its_variable(bare_env: Path) -> None:
    result = _serve(bare_env, ROUTING_OKTA,
                    ARIZE_RUNBOOKS_SERVICE_KEY="a-service-key-for-this-test-0005",
                    ARIZE_RUNBOOKS_OKTA_SECRET="okta-secret-for-this-test-05",
                    ARIZE_RUNBOOKS_SCIM_MAX_MEMBERS="0", PREFECT_API_URL="http://127.0.0.1:9/api")

    # Old main exited 1 with "unexpected error: ValidationError …" once the app was being
    # built, after importing it.
    assert result.code == 2, result.text
    assert "invalid SCIM endpoint settings" in result.text
    assert "ARIZE_RUNBOOKS_SCIM_MAX_MEMBERS: Input should be greater than 0" in result.text
    assert "unexpected error" not in result.text
