"""Shared fixtures: each part's servers live in tests/fixtures/<part>.py, registered here."""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

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


#: Variables the product reads (config.settings): a test that loads an env file into the
#: process (``load_env_file``, ``serve``/``worker`` run in-process) must not configure the
#: services of every later test.
_OWN_PREFIXES = ("ARIZE_RUNBOOKS_", "SLACK_")


def _own_variables() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(_OWN_PREFIXES)}


def _restore(saved: dict[str, str]) -> None:
    for key in set(_own_variables()) - set(saved):
        del os.environ[key]
    os.environ.update(saved)


@pytest.fixture(scope="module", autouse=True)
def _env_file_per_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test module gets its own env file: `setup` run in one module writes the secrets it
    was given there, and `doctor` reads that file, so it must not reach the next module."""
    saved = _own_variables()
    os.environ["ARIZE_RUNBOOKS_ENV_FILE"] = str(tmp_path_factory.mktemp("env-file") / "env")
    yield
    _restore(saved)


@pytest.fixture(autouse=True)
def _own_variables_restored() -> Iterator[None]:
    """The product's variables as they were before the test, whatever it loaded."""
    saved = _own_variables()
    yield
    _restore(saved)
