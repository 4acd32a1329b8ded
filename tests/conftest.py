"""Shared fixtures: each part's servers live in tests/fixtures/<part>.py, registered here."""

pytest_plugins = [
    "tests.fixtures.arize",
    "tests.fixtures.browser",
    "tests.fixtures.prefect",
    "tests.fixtures.runbooks",
    "tests.fixtures.services",
    "tests.fixtures.slack",
    "tests.fixtures.webhooks",
]
