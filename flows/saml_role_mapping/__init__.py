"""The saml-role-mapping runbook: its spec, its planner and its flow."""
