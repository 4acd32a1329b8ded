"""``arize-runbooks account``: the account-as-code feature's commands, in the CLI's error style.

The commands live with the feature (``flows/account_as_code/commands.py``); this module only
mounts them and reports their expected failures (bad files, unknown names) as every other
command does: what, where (file:line), the fix, exit 2.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from cli.errors import CliError, exit_with
from flows.account_as_code.commands import AccountCommandError
from flows.account_as_code.commands import app as account_app


def _reported(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)  # typer reads the wrapped signature for the options
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except AccountCommandError as ex:
            # Printed and exited here (2), not left to the App: the same report either way.
            error = CliError(ex.what, where=ex.where, fix=ex.fix, details=ex.details)
            raise exit_with(error) from ex

    return run


for _command in account_app.registered_commands:
    if _command.callback is not None:
        _command.callback = _reported(_command.callback)

app = account_app
