"""The restrict-project runbook: its spec, its planner and its flow."""
