"""``arize-runbooks account export|plan|apply DIR``: the account as files, diffed and applied.

``cli/account.py`` mounts this app and turns :class:`AccountCommandError` into the CLI's error
report (exit 2). ``plan --detailed-exitcode`` follows the convention CI scripts know: 0 no
changes, 2 changes, 1 error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from arize_admin import AsyncArizeAdmin
from core.planning.plan import Plan, SpecError
from flows.account_as_code.export import export_to
from flows.account_as_code.loader import AccountFilesError, LoadedAccount, load_account
from flows.account_as_code.plan import plan_loaded

T = TypeVar("T")
EXIT_CHANGES = 2
EXIT_ERROR = 1

app = typer.Typer(
    help="The whole account as code: export it, plan the files against it, apply them.",
    no_args_is_help=True,
)
console = Console()


class AccountCommandError(Exception):
    """An expected failure: what, where (file:line) and the fix, plus one line per problem."""

    def __init__(
        self, what: str, fix: str, where: str | None = None, details: list[str] | None = None
    ) -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix
        self.where = where
        self.details = details or []


class Output(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"


@asynccontextmanager
async def _policy_client(policy: str) -> AsyncIterator[AsyncArizeAdmin]:
    from blocks.policy import RunbookPolicy

    loaded = await RunbookPolicy.aload(policy)
    async with loaded.credentials.get_client() as client:
        yield client


open_client: Callable[[str], object] = _policy_client
"""The Arize client of a policy block; tests put an in-process emulator here."""


def _with_client(policy: str, work: Callable[[AsyncArizeAdmin], Awaitable[T]]) -> T:
    async def main() -> T:
        async with open_client(policy) as client:  # type: ignore[attr-defined]
            return await work(client)

    return asyncio.run(main())


def load(directory: Path) -> LoadedAccount:
    """The files, or every problem with file:line and fix as one command error."""
    try:
        return load_account(directory)
    except AccountFilesError as ex:
        raise files_error(ex) from ex


def files_error(ex: AccountFilesError) -> AccountCommandError:
    """The files' problems as one command error: each with file:line and fix."""
    if len(ex.problems) == 1:
        (only,) = ex.problems
        return AccountCommandError(
            f"{only.what}; nothing was planned or changed", fix=only.fix, where=only.where
        )
    return AccountCommandError(
        f"{len(ex.problems)} problems in the account files; nothing was planned or changed",
        fix="fix each one as it says",
        details=[p.render() for p in ex.problems],
    )


def spec_error(loaded: LoadedAccount, ex: SpecError) -> AccountCommandError:
    """A planner's SpecError, placed at the file and line of the field it names."""
    return AccountCommandError(
        f"{ex.field} = {ex.value!r}: nothing was planned or changed",
        fix=ex.fix,
        where=loaded.where(ex.field),
    )


def plan_directory(directory: Path, policy: str) -> tuple[LoadedAccount, Plan]:
    loaded = load(directory)

    async def work(client: AsyncArizeAdmin) -> Plan:
        return await plan_loaded(client, loaded)  # a file at a time, never the whole spec

    try:
        return loaded, _with_client(policy, work)
    except SpecError as ex:
        raise spec_error(loaded, ex) from ex
    except AccountFilesError as ex:  # a space's file edited between the two reads
        raise files_error(ex) from ex


def render(plan: Plan, output: Output) -> str:
    """The plan for a terminal, a pull-request comment, or a script."""
    if output is Output.JSON:
        return json.dumps(
            {
                "hash": plan.hash,
                "changes": [c.model_dump(mode="json") for c in plan.changes],
                "destructive": len(plan.destructive),
                "in_place": plan.in_place,
                "notes": plan.notes,
                "api_calls": plan.api_calls,
            },
            indent=2,
        )
    if output is Output.MARKDOWN:
        return plan.render_markdown()
    lines = []
    for change in plan.changes:
        sign = "!" if change.destructive else ("~" if "update" in change.action or
                                                "rename" in change.action else "+")
        if change.action in {"unbind-role", "delete-role", "revoke-key", "unrestrict-project"}:
            sign = "-"
        gated = "  (gated)" if change.destructive else ""
        lines.append(f"{sign} {change.describe()}{gated}")
    summary = (
        f"Plan {plan.hash[:12]}: {len(plan.changes)} change(s), {len(plan.destructive)} gated."
        if plan.changes else "No changes: the account matches the files."
    )
    return "\n".join([*lines, summary, *(f"note: {n}" for n in plan.notes)])


@app.command("export")
def export(
    directory: Path = typer.Argument(help="Where to write the files (created if missing)."),
    policy: str = typer.Option("default", help="Name of the saved runbook policy block."),
) -> None:
    """Write the live account as files, with ids; a plan right after is empty."""
    async def work(client: AsyncArizeAdmin):
        from blocks.policy import RunbookPolicy

        keys = None
        if open_client is _policy_client:
            keys = (await RunbookPolicy.aload(policy)).key_store
        return await export_to(client, directory, keys)

    done = _with_client(policy, work)
    console.print(
        f"Wrote {len(done.files)} file(s) to {escape(str(directory))}: {done.spaces} space(s), "
        f"{done.roles} custom role(s), {done.people} people."
    )


@app.command("plan")
def plan(
    directory: Path = typer.Argument(help="The account directory."),
    output: Output = typer.Option(Output.TEXT, help="text, markdown (a PR comment) or json."),
    detailed_exitcode: bool = typer.Option(
        False, "--detailed-exitcode", help="Exit 0: no changes, 2: changes, 1: error."
    ),
    policy: str = typer.Option("default", help="Name of the saved runbook policy block."),
) -> None:
    """Show what apply would change, and what the files leave unmanaged. Changes nothing."""
    try:
        _, result = plan_directory(directory, policy)
    except AccountCommandError as ex:
        if not detailed_exitcode:
            raise
        typer.echo(f"error: {ex.what}\n  where: {ex.where}\n  fix: {ex.fix}", err=True)
        for line in ex.details:
            typer.echo(f"  {line}", err=True)
        raise typer.Exit(EXIT_ERROR) from ex
    typer.echo(render(result, output))
    if detailed_exitcode and result.changes:
        raise typer.Exit(EXIT_CHANGES)


@app.command("apply")
def apply(
    directory: Path = typer.Argument(help="The account directory."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan only; change nothing."),
    policy: str = typer.Option("default", help="Name of the saved runbook policy block."),
) -> None:
    """Run apply-account on the files: gate, apply, verify, report, like every runbook."""
    from flows.account_as_code.flow import apply_account

    loaded = load(directory)
    try:
        outcome = asyncio.run(apply_account(spec=loaded.spec, dry_run=dry_run, policy=policy))
    except SpecError as ex:
        raise spec_error(loaded, ex) from ex
    typer.echo(f"apply-account: {outcome.status.value}")
    if outcome.status.value in {"rejected", "failed"}:
        raise typer.Exit(EXIT_ERROR)
