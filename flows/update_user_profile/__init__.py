"""The update-user-profile runbook: its spec, its planner and its flow."""
