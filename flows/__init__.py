"""The runbooks, one package each; ``flows.registry`` lists them, ``RUNBOOKS`` by name."""

from flows.registry import REGISTRY

RUNBOOKS = {runbook.name: runbook.flow for runbook in REGISTRY}
"""Runbook name (the flow's and the deployment's name) → flow."""

__all__ = ["RUNBOOKS"]
