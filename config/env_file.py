"""The env file ``setup`` writes and ``serve``, ``worker`` and ``ha up`` load.

It holds secrets (the service key, the Slack token and signing secret, source secrets), so it
is created with mode 0600 and rewritten in place. Default: ``~/.arize-runbooks/env``;
``ARIZE_RUNBOOKS_ENV_FILE`` points elsewhere. Variables already in the environment win over
the file, so one process can still be started with a different value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

ENV_FILE_VAR = "ARIZE_RUNBOOKS_ENV_FILE"


def env_file_path() -> Path:
    """Where the env file is: ``$ARIZE_RUNBOOKS_ENV_FILE``, else ``~/.arize-runbooks/env``."""
    given = os.environ.get(ENV_FILE_VAR)
    return Path(given).expanduser() if given else Path.home() / ".arize-runbooks" / "env"


def read_env_file(path: Path | None = None) -> dict[str, str]:
    """The file's variables; empty when there is no file."""
    path = path or env_file_path()
    if not path.is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def load_env_file(path: Path | None = None) -> dict[str, str]:
    """Put the file's variables into ``os.environ`` where not already set; those it set."""
    loaded = {}
    for key, value in read_env_file(path).items():
        if key not in os.environ:
            os.environ[key] = value
            loaded[key] = value
    return loaded


def _quoted(key: str, value: str) -> str:
    # Single quotes: literal for python-dotenv and for a shell's `set -a; . FILE`.
    if "'" in value or "\n" in value:
        raise ValueError(f"{key} contains a quote or a newline; the env file cannot hold it")
    return f"'{value}'"


def write_env_file(values: Mapping[str, str], path: Path | None = None) -> Path:
    """Write ``values`` to the env file (mode 0600, directory 0700); the path written."""
    path = path or env_file_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = [
        "# Written by `arize-runbooks setup`: the environment of `serve` and `worker`.",
        "# Holds secrets: keep it mode 0600. Variables set in the environment win.",
        *(f"{key}={_quoted(key, value)}" for key, value in values.items()),
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(lines) + "\n")
    return path
