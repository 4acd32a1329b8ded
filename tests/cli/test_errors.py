"""Expected failures end in a few lines (what, where, fix), exit 2, and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from blocks.arize import ArizeCredentials
from blocks.policy import RunbookPolicy
from cli.stack import free_port
from tests.cli.conftest import POLICY, ROOT, flow_run_count, save_policy
from tests.fixtures.runbooks import emulator_state, mutation_count

pytestmark = pytest.mark.slow

ONBOARD = """\
organization: Acme
space: fraud-ops
members:
  - name: Dana Data
    email: dana@acme.example
  - name: Riley Reviewer
    email: {email}
    space_role: {role}
"""


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def account(arize) -> tuple[dict, int]:
    """The account as the emulator holds it (minus read-touched fields), and its writes."""
    return emulator_state(arize), mutation_count(arize)


def test_an_invalid_email_names_the_field_and_its_line(cli, arize, cli_policy, tmp_path):
    spec = write(tmp_path, ONBOARD.format(email="riley-at-acme", role="MEMBER"))
    before, runs = account(arize), flow_run_count()

    result = cli("run", "onboard-team", str(spec), "--policy", POLICY)

    assert result.code == 2
    assert result.text.startswith(
        "error: spec.members.1.email: value is not a valid email address"
    )
    assert f"where: {spec}, line 7" in result.text
    assert "fix:" in result.text and "Traceback" not in result.text
    assert account(arize) == before
    assert flow_run_count() == runs  # refused before a run existed


def test_a_space_role_that_does_not_exist_is_caught_when_the_spec_is_read(
    cli, arize, cli_policy, tmp_path
):
    spec = write(tmp_path, ONBOARD.format(email="riley@acme.example", role="GOD"))
    before, runs = account(arize), flow_run_count()

    result = cli("run", "onboard-team", str(spec), "--policy", POLICY)

    assert result.code == 2
    assert "spec.members.1.space_role: 'GOD' is not a space role" in result.text
    assert "ADMIN, MEMBER, READ_ONLY, ANNOTATOR" in result.text
    assert f"{spec}, line 8" in result.text
    assert account(arize) == before
    assert flow_run_count() == runs


def test_bad_yaml_gives_line_and_column(cli, arize, cli_policy, tmp_path):
    spec = write(tmp_path, "organization: Acme\nspace: [fraud-ops\nmembers: []\n")
    before = account(arize)

    result = cli("run", "onboard-team", str(spec), "--policy", POLICY)

    assert result.code == 2
    assert "is not valid YAML" in result.text
    assert f"{spec}, line 3, column" in result.text
    assert account(arize) == before


def test_a_missing_policy_says_to_run_setup(cli, arize, prefect_harness):
    before = account(arize)

    result = cli("run", "onboard-team", str(ROOT / "examples/onboard-team.yaml"),
                 "--policy", "never-saved")

    assert result.code == 2
    assert "no runbook policy 'never-saved' saved" in result.text
    assert "run `arize-runbooks setup`" in result.text
    assert "Unable to find block document" not in result.text
    assert account(arize) == before


def test_an_unknown_space_names_the_spaces_there_are(cli, arize, cli_policy, tmp_path):
    spec = write(
        tmp_path,
        "space: fraud-detecton\nproject: fraud-model\n"
        "allowed:\n  - {email: dana@acme.example, role: Project Viewer}\n",
    )
    before = account(arize)

    result = cli("run", "restrict-project", str(spec), "--policy", POLICY)

    assert result.code == 2
    assert "spec.space = 'fraud-detecton': no space of that name" in result.text
    assert "spaces: fraud-detection, ml-platform, search-ranking" in result.text
    assert "Traceback" not in result.text
    assert account(arize) == before


def test_an_unknown_custom_role_names_the_custom_roles(cli, arize, cli_policy, tmp_path):
    spec = write(
        tmp_path,
        "space: fraud-detection\nproject: fraud-model\n"
        "allowed:\n  - {email: dana@acme.example, role: Project Veiwer}\n",
    )
    before = account(arize)

    result = cli("run", "restrict-project", str(spec), "--policy", POLICY)

    assert result.code == 2
    assert "spec.allowed[0].role = 'Project Veiwer'" in result.text
    assert "custom roles: Project Viewer, Space Editor" in result.text
    assert account(arize) == before


def test_a_revoked_or_wrong_key_is_refused_before_the_run(cli, arize, prefect_harness):
    save_policy("cli-bad-key", RunbookPolicy(
        credentials=ArizeCredentials(api_key="ak-revoked-000000000000000000000000",
                                     base_url=arize.base_url),
        rate_limit=None,
    ))
    before, runs = account(arize), flow_run_count()

    result = cli("run", "onboard-team", str(ROOT / "examples/onboard-team.yaml"),
                 "--policy", "cli-bad-key")

    assert result.code == 2
    assert "Arize refused the API key (401)" in result.text
    assert "ak-revoked" not in result.text  # never echo a key
    assert account(arize) == before
    assert flow_run_count() == runs


def test_an_unreachable_arize_names_the_address(cli, arize, prefect_harness):
    dead = f"http://127.0.0.1:{free_port()}"
    save_policy("cli-dead-arize", RunbookPolicy(
        credentials=ArizeCredentials(api_key=arize.admin_key, base_url=dead, timeout=2),
        rate_limit=None,
    ))

    result = cli("run", "onboard-team", str(ROOT / "examples/onboard-team.yaml"),
                 "--policy", "cli-dead-arize")

    assert result.code == 2
    assert "Arize is not reachable" in result.text
    assert "region or base URL" in result.text


def test_an_unreachable_prefect_says_how_to_start_one(cli_subprocess, arize, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/api"
    before = account(arize)

    result = cli_subprocess("run", "onboard-team", "examples/onboard-team.yaml",
                            env={"PREFECT_API_URL": dead})

    assert result.code == 2, result.err
    assert f"cannot reach {dead}" in result.text
    assert "prefect server start" in result.text
    assert "Traceback" not in result.text
    assert account(arize) == before


def test_debug_shows_the_traceback(cli_subprocess):
    dead = f"http://127.0.0.1:{free_port()}/api"

    result = cli_subprocess("--debug", "run", "onboard-team", "examples/onboard-team.yaml",
                            env={"PREFECT_API_URL": dead})

    assert result.code != 0
    assert "Traceback" in result.err
