"""The ``arize-runbooks`` command line: one typer app, one module per command group."""

from __future__ import annotations

import typer

from cli import approvals, demo, emulator, inbox, run, serve

app = typer.Typer(
    name="arize-runbooks",
    help="Approval-gated Prefect runbooks for administering an Arize AX account.",
    no_args_is_help=True,
    add_completion=False,
)

app.command("demo")(demo.demo)
app.command("emulator")(emulator.emulator)
app.command("serve")(serve.serve)
app.command("run")(run.run)
app.command("approve")(approvals.approve)
app.command("reject")(approvals.reject)
app.add_typer(inbox.app, name="inbox")

if __name__ == "__main__":  # pragma: no cover
    app()
