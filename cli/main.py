"""The ``arize-runbooks`` command line: one typer app, one module per command group.

Each command's module is imported only when that command runs (click's lazily loaded
subcommands): imported together, they cost 2.3 s before any command started, most of it
Prefect, every flow and the emulators, which ``approve``, ``inbox`` or ``scim`` never use.
"""

from __future__ import annotations

import importlib

import typer
from typer.core import TyperCommand, TyperGroup

from cli.errors import App, set_debug

#: Every command, in the order ``--help`` lists them: its module and the typer app or the
#: function in it that is the command.
COMMANDS: dict[str, tuple[str, str]] = {
    "setup": ("cli.setup", "setup"),
    "doctor": ("cli.doctor", "doctor"),
    "run": ("cli.run", "run"),
    "approve": ("cli.approvals", "approve"),
    "reject": ("cli.approvals", "reject"),
    "serve": ("cli.serve", "serve"),
    "worker": ("cli.worker", "worker"),
    "prefect-services": ("cli.prefect_services", "prefect_services"),
    "send-test-event": ("cli.send_test_event", "send_test_event"),
    "demo": ("cli.demo", "demo"),
    "emulator": ("cli.emulator", "emulator"),
    "inbox": ("cli.inbox", "app"),
    "access": ("cli.access", "app"),
    "ha": ("cli.ha", "app"),
    "account": ("cli.account", "app"),
    "scim": ("cli.scim", "app"),
    "evidence": ("cli.evidence", "app"),
}


def load_command(name: str) -> TyperCommand | TyperGroup:
    """The click command ``name``, its module imported now."""
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        group = typer.main.get_group(target)
        group.name = name  # the listing in --help shows the name the group is mounted as
        return group
    single = typer.Typer()
    single.command(name)(target)
    command = typer.main.get_command(single)  # one command and no callback: that command
    assert isinstance(command, TyperCommand), name
    return command


class LazyCommands(TyperGroup):
    """The top-level group: lists ``COMMANDS`` and loads one only when it is asked for."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> TyperCommand | TyperGroup | None:
        return load_command(cmd_name) if cmd_name in COMMANDS else None


app = App(
    name="arize-runbooks",
    help="Approval-gated Prefect runbooks for administering an Arize AX account.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold keys and tokens
    cls=LazyCommands,
)


@app.callback()
def main(
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks and Prefect's own log lines."
    ),
) -> None:
    """Approval-gated Prefect runbooks for administering an Arize AX account."""
    set_debug(debug)


if __name__ == "__main__":  # pragma: no cover
    app()
