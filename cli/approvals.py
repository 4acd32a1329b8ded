"""``arize-runbooks approve|reject``: placeholder."""


def approve(run_id: str) -> None:
    """Approve a paused runbook run."""


def reject(run_id: str) -> None:
    """Reject a paused runbook run."""
