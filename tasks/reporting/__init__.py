"""Reporting: the plan and the run report as Prefect artifacts."""
