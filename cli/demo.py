"""``arize-runbooks demo``: placeholder."""


def demo() -> None:
    """Run the demo."""
