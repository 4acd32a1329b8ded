"""Counters of the approval gate, for Prometheus (the webhook service serves ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter

BREAK_GLASS_APPROVALS = Counter(
    "arize_runbooks_break_glass_approvals",
    "Runbook gates approved by break-glass, overriding the quorum or a leaver-storm hold.",
    ["runbook"],
)
STORM_HOLDS = Counter(
    "arize_runbooks_storm_holds",
    "Destructive runs held for break-glass approval by the leaver-storm circuit breaker.",
    ["runbook"],
)
