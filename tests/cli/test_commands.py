"""The top-level command group: every command is listed and loads, and a command's module is
imported only when that command runs (``cli.main.LazyCommands``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.core import TyperCommand, TyperGroup

from cli.main import COMMANDS, load_command
from tests.cli.conftest import ROOT, Result


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_loads_under_its_name(name: str) -> None:
    command = load_command(name)
    assert isinstance(command, TyperCommand | TyperGroup)
    assert command.name == name
    assert command.help or command.callback.__doc__, f"{name} has no help text"


def test_help_lists_every_command_in_order(cli: Callable[..., Result]) -> None:
    result = cli("--help")
    assert result.code == 0, result.err
    first_words = [
        line.strip("│ ").split()[:1] for line in result.out.splitlines() if line.startswith("│ ")
    ]
    listed = [words[0] for words in first_words if words and words[0] in COMMANDS]
    assert listed == list(COMMANDS)


def test_an_unknown_command_is_refused_with_the_usage(cli: Callable[..., Result]) -> None:
    result = cli("offboard")
    assert result.code == 2
    assert "No such command 'offboard'" in result.text


#: Commands that never talk to Prefect: each must load its own module and no other command's,
#: and not Prefect.
STAYS_LIGHT = [("inbox", "--help"), ("scim", "token", "--help"), ("evidence", "--help")]


@pytest.mark.parametrize("argv", STAYS_LIGHT, ids=lambda argv: " ".join(argv))
def test_a_command_imports_only_its_own_module(argv: tuple[str, ...]) -> None:
    # A fresh interpreter: this one has long imported Prefect and every command.
    probe = (
        "import sys\n"
        "from cli.main import COMMANDS, app\n"
        "try:\n"
        f"    app({list(argv)!r}, prog_name='arize-runbooks')\n"
        "except SystemExit as ex:\n"
        "    assert ex.code in (0, None), ex.code\n"
        "print(sorted({m for m, _ in COMMANDS.values()} & set(sys.modules)))\n"
        "print('prefect' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    *_, loaded, prefect = done.stdout.splitlines()
    assert loaded == repr([COMMANDS[argv[0]][0]])
    assert prefect == "False"


#: What `inbox`, `scim token` and `doctor` import to read the settings and the inbox: none of
#: them may bring in the service (FastAPI app, SCIM provider) or Prefect, which cost 2 s more.
LIGHT_MODULES = ["webhooks.settings", "webhooks.inbox", "webhooks.sources"]


@pytest.mark.parametrize("module", LIGHT_MODULES)
def test_the_settings_and_the_inbox_load_without_the_service(module: str) -> None:
    probe = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        "print(sorted(m for m in ('prefect', 'webhooks.app', 'webhooks.forwarder') "
        "if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_serve_refuses_a_half_configured_environment_before_loading_the_service(
    tmp_path: Path,
) -> None:
    """The refusal needs the settings and the routing file only: it comes before FastAPI,
    SCIM and Prefect are imported (3.5 CPU-s before, 1 now)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARIZE_RUNBOOKS_", "SLACK_"))}
    env["ARIZE_RUNBOOKS_ENV_FILE"] = str(tmp_path / "env")  # nobody wrote it
    routing = str(ROOT / "examples" / "routing-okta.yaml")
    probe = (
        "import sys\n"
        "from cli.main import app\n"
        "try:\n"
        f"    app(['serve', '--config', {routing!r}, '--port', '1'], prog_name='arize-runbooks')\n"
        "except SystemExit as ex:\n"
        "    print(ex.code)\n"
        "print(sorted(m for m in ('prefect', 'webhooks.app') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    *_, code, loaded = done.stdout.splitlines()
    assert code == "2", done.stdout + done.stderr
    assert "ARIZE_RUNBOOKS_SERVICE_KEY is not set" in done.stdout + done.stderr
    assert loaded == "[]"
