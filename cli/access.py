"""``arize-runbooks access``: the time-bound access feature's commands, in the CLI's error style.

The commands live with the feature (``flows/time_bound_access/commands.py``); this module only
mounts them and reports their expected failures as every other command does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from cli.errors import CliError
from flows.time_bound_access.commands import AccessCommandError
from flows.time_bound_access.commands import app as access_app


def _reported(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)  # typer reads the wrapped signature for the options
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except AccessCommandError as ex:
            raise CliError(ex.what, fix=ex.fix) from ex

    return run


for _command in access_app.registered_commands:
    if _command.callback is not None:
        _command.callback = _reported(_command.callback)

app = access_app
