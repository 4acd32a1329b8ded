"""The top-level command group: every command is listed and loads, and a command's module is
imported only when that command runs (``cli.main.LazyCommands``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

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
