"""The offboard-user runbook: its spec, its planner and its flow."""
