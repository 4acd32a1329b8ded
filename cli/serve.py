"""``arize-runbooks serve``: placeholder until the serve lands."""

import typer


def serve() -> None:
    """Run the webhook service."""
    raise typer.Exit(1)
