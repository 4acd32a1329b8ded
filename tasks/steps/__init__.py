"""Steps: one idempotent Prefect task per action, and the loop that applies a plan."""
