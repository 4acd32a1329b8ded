"""``arize-runbooks access``: list temporary grants, end one early, or make one standing.

The commands of the time-bound access feature; ``cli/access.py`` mounts them in the
``arize-runbooks`` command and turns :class:`AccessCommandError` into its error report (the
CLI is the floor above, so nothing here imports it).
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Coroutine
from datetime import UTC
from typing import Any, TypeVar

import typer
from prefect import get_client
from rich.console import Console
from rich.table import Column, Table

from flows.time_bound_access.records import (
    AccessGrant,
    GrantStatus,
    GrantWriteConflict,
    clock,
    list_grants,
    update_grant,
)


class AccessCommandError(Exception):
    """An expected failure of an access command: what went wrong and the fix."""

    def __init__(self, what: str, fix: str) -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix


app = typer.Typer(help="Temporary access grants: list, revoke early, keep as standing.",
                  no_args_is_help=True)
console = Console()
T = TypeVar("T")


@app.command("list")
def list_(
    all_: bool = typer.Option(False, "--all", help="Also show grants that have ended."),
) -> None:
    """Show active (and pending) grants with their expiry, soonest first."""
    async def read() -> list[AccessGrant]:
        async with get_client() as client:
            return await list_grants(client)

    grants = asyncio.run(read())
    now = clock.now()
    # The id is what `revoke` and `keep` take: never truncated or wrapped.
    grant_column = Column("grant", no_wrap=True, min_width=12)
    table = Table(grant_column, "who", "role", "where", "expires (UTC)", "left", "status")
    for grant in grants:
        if grant.status is GrantStatus.ENDED and not all_:
            continue
        left = grant.expires_at - now
        table.add_row(
            grant.id, grant.email, grant.role, grant.resource,
            grant.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            f"{max(int(left.total_seconds()) // 60, 0)} min" if left.total_seconds() > 0 else "due",
            grant.end.reason if grant.end else grant.status.value,
        )
    # A console per call: it sizes itself to the terminal it prints to now.
    Console().print(table if table.row_count else "No active temporary grants.")


@app.command("revoke")
def revoke(
    grant_id: str = typer.Argument(help="The grant, as `access list` shows it."),
    by: str | None = typer.Option(None, "--as", help="Who ends it (for the record)."),
    policy: str = typer.Option("default", help="Name of the saved runbook policy block."),
) -> None:
    """End a grant now: removes only what the grant added. Running it twice is harmless."""
    from flows.time_bound_access.revoke_flow import revoke_temporary_access

    outcome = asyncio.run(
        _or_command_error(revoke_temporary_access(grant_id=grant_id, early=True,
                                              by=by or getpass.getuser(), policy=policy))
    )
    console.print(outcome.message)


@app.command("keep")
def keep(
    grant_id: str = typer.Argument(help="The grant, as `access list` shows it."),
) -> None:
    """Make a grant's access standing: its revoke will leave the binding in place."""
    async def mark() -> str:
        def keep_it(grant: AccessGrant) -> AccessGrant | None:
            if grant.status is GrantStatus.ENDED:
                raise AccessCommandError(f"grant {grant_id} already ended ({grant.end.reason})",
                                         fix="grant the role as standing access instead")
            return None if grant.standing else grant.model_copy(update={"standing": True})

        async with get_client() as client:
            try:
                # Compare-and-set: a grant run saving its binding at the same moment is kept,
                # and so is this mark.
                grant = await update_grant(client, grant_id, keep_it)
            except LookupError as ex:
                raise AccessCommandError(
                    f"no access grant {grant_id!r}", fix="see `arize-runbooks access list`"
                ) from ex
            except GrantWriteConflict as ex:
                raise AccessCommandError(str(ex), fix="run the same command again") from ex
            return grant.describe()

    console.print(f"Kept as standing access: {asyncio.run(mark())}")


async def _or_command_error(call: Coroutine[Any, Any, T]) -> T:
    try:
        return await call
    except LookupError as ex:
        raise AccessCommandError(str(ex), fix="see `arize-runbooks access list`") from ex
