"""Expected failures as a few lines a person can act on: what went wrong, where, and the fix.

Every command runs inside :class:`App`, which turns the failures listed in :func:`explain`
(a bad spec, a missing policy, a refused key, an unreachable Prefect or Arize) into a
:class:`CliError`, prints it and exits with :data:`EXIT_USAGE`. Anything else is a bug: it is
reported in one line too, and ``--debug`` shows the traceback of either kind.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

EXIT_USAGE = 2
"""Exit code of an expected failure: the input or the setup needs fixing."""
EXIT_BUG = 1
"""Exit code of anything unexpected (and of a runbook that failed while applying)."""

err = Console(stderr=True)

_DEBUG_ENV = os.environ.get("ARIZE_RUNBOOKS_DEBUG", "") not in ("", "0", "false")
_debug = _DEBUG_ENV

_MISSING_BLOCK = re.compile(
    r"Unable to find block document named (?P<name>\S+) for block type (?P<type>\S+)"
)
_SETUP = "run `arize-runbooks setup`"


def set_debug(value: bool) -> None:
    """Show tracebacks (``--debug`` or ``ARIZE_RUNBOOKS_DEBUG=1``)."""
    global _debug
    _debug = value or _DEBUG_ENV


def debugging() -> bool:
    """Whether ``--debug`` is on."""
    return _debug


@dataclass
class CliError(Exception):
    """An expected failure: ``what`` happened, ``where`` (file, line, field), and the ``fix``.

    Messages must never carry a secret: they name fields and values a person typed, not keys.
    """

    what: str
    where: str | None = None
    fix: str | None = None
    details: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.what

    def render(self) -> str:
        """The lines printed to stderr (rich markup escaped)."""
        lines = [f"[bold red]error:[/] {escape(self.what)}"]
        lines += [f"  {escape(line)}" for line in self.details]
        if self.where:
            lines.append(f"  [dim]where:[/] {escape(self.where)}")
        if self.fix:
            lines.append(f"  [green]fix:[/] {escape(self.fix)}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """For ``--output json``."""
        return {"error": self.what, "where": self.where, "fix": self.fix, "details": self.details}


def explain(exc: BaseException) -> CliError | None:
    """The :class:`CliError` for an expected failure, or ``None`` for a bug."""
    if isinstance(exc, CliError):
        return exc
    for explainer in (_spec_error, _arize_error, _prefect_error, _missing_block):
        found = explainer(exc)
        if found is not None:
            return found
    cause = exc.__cause__ or exc.__context__
    # Prefect and pydantic wrap what a flow raised; the first explainable link wins.
    if cause is not None and cause is not exc:
        return explain(cause)
    return None


def _spec_error(exc: BaseException) -> CliError | None:
    from core.planning.plan import SpecError

    if not isinstance(exc, SpecError):
        return None
    return CliError(
        f"spec.{exc.field} = {exc.value!r}: {exc.fix}",
        where=f"spec field {exc.field}",
        fix="correct the spec and run again; nothing was changed",
    )


def _arize_error(exc: BaseException) -> CliError | None:
    from arize_admin import APIConnectionError, AuthenticationError, PermissionDeniedError

    if isinstance(exc, AuthenticationError):
        return CliError(
            f"Arize refused the API key (401) at {exc.method} {exc.path}",
            fix="the key is wrong, revoked or expired, or belongs to another region: "
            f"{_SETUP} with a current admin key, then `arize-runbooks doctor`",
        )
    if isinstance(exc, PermissionDeniedError):
        return CliError(
            f"Arize forbade {exc.method} {exc.path} (403): {exc.detail or exc.title}",
            fix="the key lacks admin rights: use an account admin's key "
            f"({_SETUP}), then `arize-runbooks doctor`",
        )
    if isinstance(exc, APIConnectionError):
        return CliError(
            f"Arize is not reachable: {exc}",
            fix="check the policy's region or base URL and this machine's network "
            "(`arize-runbooks doctor`)",
        )
    return None


def _prefect_error(exc: BaseException) -> CliError | None:
    import httpx

    if isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code in (401, 403):
        return CliError(
            f"the Prefect API refused this client ({exc.response.status_code}) at "
            f"{exc.request.url.copy_with(query=None)}",
            fix="set PREFECT_API_AUTH_STRING (self-hosted server) or PREFECT_API_KEY "
            "(Prefect Cloud) for this API",
        )
    if isinstance(exc, httpx.TransportError):
        url = exc.request.url.copy_with(query=None) if _has_request(exc) else "the Prefect API"
        return CliError(
            f"cannot reach {url}: {type(exc).__name__}",
            fix="start it (`prefect server start`) or point PREFECT_API_URL at a running one",
        )
    return None


def _has_request(exc: Any) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises RuntimeError when the error has no request
    except RuntimeError:
        return False
    return True


def _missing_block(exc: BaseException) -> CliError | None:
    if not isinstance(exc, ValueError):
        return None
    match = _MISSING_BLOCK.search(str(exc))
    if match is None:
        return None
    name, block_type = match["name"], match["type"]
    if block_type == "arize-runbook-policy":
        return CliError(
            f"no runbook policy {name!r} saved in this Prefect",
            fix=f"{_SETUP} (or pass --policy with the name of a saved one)",
        )
    return CliError(f"no {block_type} block named {name!r} in this Prefect", fix=_SETUP)


def report(exc: BaseException) -> int:
    """Print ``exc`` for a person and return the exit code."""
    problem = explain(exc)
    if problem is not None:
        err.print(problem.render())
        return EXIT_USAGE
    err.print(
        f"[bold red]unexpected error:[/] {escape(type(exc).__name__)}: {escape(str(exc))}\n"
        "  rerun with --debug for the traceback"
    )
    return EXIT_BUG


def exit_with(exc: BaseException) -> typer.Exit:
    """``raise exit_with(ex) from None`` inside a command: print it, exit with its code."""
    return typer.Exit(report(exc))


class App(typer.Typer):
    """A ``typer.Typer`` that reports expected failures instead of printing a traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            if _debug:
                raise
            sys.exit(report(exc))
