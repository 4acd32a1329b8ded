"""``arize-runbooks inbox``: placeholder until the webhook inbox lands."""

import typer

app = typer.Typer(help="Inspect and replay webhook deliveries.")
