"""The rotate-service-keys runbook: its spec, its planner and its flow."""
