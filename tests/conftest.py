"""Shared fixtures: each part's servers live in tests/fixtures/<part>.py, registered here."""

import os
import tempfile
from pathlib import Path

# The webhook service (in-process in most tests) signs triggers and Slack votes under this key
# and the flows check them. A real deployment gets it from the env file `arize-runbooks setup`
# writes, loaded by `serve` and `worker`; tests/cli/test_readme.py runs that path without this.
os.environ.setdefault("ARIZE_RUNBOOKS_SERVICE_KEY", "test-service-key-0123456789abcdef")
# `setup` run in-process writes its env file (secrets) here, never into the real ~/.arize-runbooks.
os.environ.setdefault(
    "ARIZE_RUNBOOKS_ENV_FILE", str(Path(tempfile.mkdtemp(prefix="arize-runbooks-")) / "env")
)

pytest_plugins = [
    "tests.fixtures.arize",
    "tests.fixtures.browser",
    "tests.fixtures.prefect",
    "tests.fixtures.runbooks",
    "tests.fixtures.services",
    "tests.fixtures.slack",
    "tests.fixtures.webhooks",
]
