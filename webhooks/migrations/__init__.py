"""Alembic migrations of the webhook inbox (run by :mod:`webhooks.schema`)."""
