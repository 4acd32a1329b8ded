"""Shared fixtures: each part's servers live in tests/fixtures/<part>.py, registered here."""

import os

# The webhook service (in-process in most tests) signs triggers and Slack votes under this key
# and the flows check them; a real deployment sets it for the service and the workers.
os.environ.setdefault("ARIZE_RUNBOOKS_SERVICE_KEY", "test-service-key-0123456789abcdef")

pytest_plugins = [
    "tests.fixtures.arize",
    "tests.fixtures.browser",
    "tests.fixtures.prefect",
    "tests.fixtures.runbooks",
    "tests.fixtures.services",
    "tests.fixtures.slack",
    "tests.fixtures.webhooks",
]
