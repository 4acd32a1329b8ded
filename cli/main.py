"""The ``arize-runbooks`` command line: one typer app, one module per command group."""

from __future__ import annotations

import typer

from cli import (
    access,
    account,
    approvals,
    demo,
    doctor,
    emulator,
    evidence,
    ha,
    inbox,
    run,
    scim,
    send_test_event,
    serve,
    setup,
    worker,
)
from cli.errors import App, set_debug

app = App(
    name="arize-runbooks",
    help="Approval-gated Prefect runbooks for administering an Arize AX account.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold keys and tokens
)


@app.callback()
def main(
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks and Prefect's own log lines."
    ),
) -> None:
    """Approval-gated Prefect runbooks for administering an Arize AX account."""
    set_debug(debug)


app.command("setup")(setup.setup)
app.command("doctor")(doctor.doctor)
app.command("run")(run.run)
app.command("approve")(approvals.approve)
app.command("reject")(approvals.reject)
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.command("send-test-event")(send_test_event.send_test_event)
app.command("demo")(demo.demo)
app.command("emulator")(emulator.emulator)
app.add_typer(inbox.app, name="inbox")
app.add_typer(access.app, name="access")
app.add_typer(ha.app, name="ha")
app.add_typer(account.app, name="account")
app.add_typer(scim.app, name="scim")
app.add_typer(evidence.app, name="evidence")

if __name__ == "__main__":  # pragma: no cover
    app()
