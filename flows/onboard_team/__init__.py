"""The onboard-team runbook: its spec, its planner and its flow."""
