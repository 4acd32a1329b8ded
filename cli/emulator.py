"""``arize-runbooks emulator``: placeholder until the emulator lands."""

import typer


def emulator() -> None:
    """Run the local Arize admin API emulator."""
    raise typer.Exit(1)
