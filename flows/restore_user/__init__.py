"""The restore-user runbook: its spec, its planner and its flow."""
