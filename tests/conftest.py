"""Shared fixtures: each part's servers live in tests/fixtures/<part>.py, registered here."""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The webhook service (in-process in most tests) signs triggers and Slack votes under this key
# and the flows check them. A real deployment gets it from the env file `arize-runbooks setup`
# writes, loaded by `serve` and `worker`; tests/cli/test_readme.py runs that path without this.
os.environ.setdefault("ARIZE_RUNBOOKS_SERVICE_KEY", "test-service-key-0123456789abcdef")
# `setup` run in-process writes its env file (secrets) here, never into the real ~/.arize-runbooks.
os.environ.setdefault(
    "ARIZE_RUNBOOKS_ENV_FILE", str(Path(tempfile.mkdtemp(prefix="arize-runbooks-")) / "env")
)

# Rich sizes its consoles (the CLI's, made at import) from the terminal, or from COLUMNS when
# there is none: an xdist worker or CI has no terminal, so without this, CLI output wraps at
# 80 columns there and not on a developer's screen, and assertions on it depend on where they run.
os.environ["COLUMNS"] = "200"

pytest_plugins = [
    # First: every HTTP client of the process shares one TLS context from the start.
    "tests.fixtures.tls",
    "tests.fixtures.arize",
    "tests.fixtures.browser",
    "tests.fixtures.logs",
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


# --- The two tiers, and who may run beside whom under pytest-xdist -------------------------
#
# `check` (make check): tests that need no real part: no server process, no loopback server
# thread, no database, no browser. They run in process (httpx.ASGITransport where they speak
# HTTP) and answer in seconds. The tier is derived, not hand-kept: a test is `check` unless it
# asks, directly or through another fixture, for one of REAL_PARTS, or is one of REAL_PLACES
# (a module or test that starts real parts by itself). Everything runs under `make test`.

#: Fixtures that bring up a real part (or need one to be up).
REAL_PARTS = frozenset({
    "prefect_harness",
    "prefect_template",
    "arize_emulator",
    "slack_emulator",
    "webhook_service",
    "postgres_database",
    "redis_url",
    "inbox_url",
    "chromium",
    "ha",
    "authed_prefect",
})

#: Modules (or single tests, by node id) that start processes or servers themselves
#: (subprocess, a server thread) or write a real database of their own at length.
REAL_PLACES = (
    "tests/approvals/test_worker_stop.py",
    "tests/access/test_revoke_survives_restart.py",
    "tests/approvals/test_hold_then_suspend.py",
    "tests/cli/test_commands.py::test_a_command_imports_only_its_own_module",
    "tests/cli/test_commands.py::test_the_settings_and_the_inbox_load_without_the_service",
    "tests/cli/test_commands.py::test_serve_refuses_a_half_configured_environment_before",
    "tests/cli/test_config.py",
    "tests/cli/test_errors.py",
    "tests/cli/test_readme.py",
    "tests/cli/test_setup_doctor.py",
    "tests/emulator/test_official_clients.py",
    "tests/emulator/test_persistence_and_cli.py",
    "tests/emulator/test_scale.py",
    "tests/runbooks/test_crash_recovery.py",
    "tests/scim/test_serve_log.py",
    "tests/test_cli_approvals.py",
    "tests/test_deployments.py",
    "tests/ui/test_prefect_auth.py",
    # 820 events of 100 KB through a SQLite file: a real database, seconds of disk.
    "tests/webhooks/test_inbox_hostile.py::test_sqlite_statements_keep_no_payload_after_a_batch",
    # Builds the wheel with hatchling in a subprocess.
    "tests/webhooks/test_migrations.py::test_migrations_ship_in_the_wheel",
)

#: Tests that run one after another on one xdist worker, by path: `ha` shares one HA stack
#: (a dozen processes) for the session, and its tests stop its Redis and kill its workers; `ui`
#: shares an authenticated Prefect server with every runbook deployed, and a browser. One
#: copy of either per worker would cost more than it saves.
SERIAL_GROUPS = {"tests/ha/": "ha", "tests/ui/": "ui"}


#: Modules that stop or restart real processes and bound how long that may take (a worker must
#: exit within seconds of SIGTERM, a server restart must not lose a held gate). They are marked
#: ``solo``: `make test` runs them in a pytest of their own beside the rest, two at a time.
#: tests/ha/test_kill_moments.py, in the HA group, is handed out first and holds one worker for
#: about 400 s; the others go to the other worker one after another, longest first (the order
#: below, by one run on 2 cores, 2026-12-06: 114, 109, 101, 95 and 83 s), and the kill moments'
#: worker takes one more when its last test starts (serial_group_scheduling). (Beside three
#: other xdist workers they once missed their bounds, in CI on 2026-12-02 and -03: a worker not
#: gone 120 s after SIGTERM. That was Prefect's worker losing its interrupt, which
#: ops.worker_stop now handles, not the load; docs/testing.md has the history and the timings.)
SOLO_MODULES = (
    # Kill a worker or a replica and wait for detection within a bound: beside three other
    # xdist workers on 2 cores (the suite grew by 240 tests) they missed it in CI.
    "tests/ha/test_kill_moments.py",
    "tests/access/test_revoke_survives_restart.py",
    "tests/approvals/test_gate_survives_restart.py",
    "tests/approvals/test_hold_then_suspend.py",
    "tests/cli/test_readme.py",
    "tests/webhooks/test_replicas.py",
)


#: The longest modules of the parallel part (measured on 2 cores, 2026-12-03: 90 to 255 s
#: each), handed out right after the serial groups. xdist hands scopes out in collection order,
#: and tests/webhooks/ is collected last: its two longest modules ended the run alone while the
#: other workers had nothing left. Only the order depends on this list, never which tests run.
LONG_MODULES = (
    "tests/webhooks/test_exactly_once.py",
    "tests/runbooks/test_shared_behaviour.py",
    "tests/approvals/test_two_person_rule.py",
    "tests/webhooks/test_hostile_bodies.py",
    "tests/access/test_slack_requests.py",
    "tests/access/test_bad_requests.py",
    "tests/evidence/test_flows.py",
    "tests/access/test_cli_access.py",
)


def _module_path(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def xdist_scope(nodeid: str) -> str:
    """The unit xdist hands to one worker: a serial group, else the test's module (so a
    module's module-scoped fixtures are set up once, on one worker)."""
    for prefix, group in SERIAL_GROUPS.items():
        if nodeid.startswith(prefix):
            return group
    return _module_path(nodeid)


@pytest.hookimpl(optionalhook=True)  # run without xdist (`-p no:xdist`) too
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """`--dist loadscope`, with SERIAL_GROUPS as scopes of their own, and no module queued
    behind a serial group before its last test (:func:`serial_group_scheduling`).

    Not `xdist_group` with `--dist loadgroup`: that renames the items (`item._nodeid`), which
    pytest 9 no longer reads, so every group silently ran spread over all workers.
    """
    return serial_group_scheduling()(config, log)


def serial_group_scheduling() -> type:
    """xdist's LoadScopeScheduling, with a serial group as one scope, and a worker that runs
    a serial group given more work only once the group's last test is all it has left.

    xdist gives a worker its next scope as soon as it has two tests or fewer to go, and a
    scope given cannot move. Behind a serial group's last two tests (minutes each: the kill
    moments' are 90 to 180 s) a module then waited for minutes while another worker could
    have run it: the solo pytest took 10:16 before this, and 8:38 to 9:07 in the four
    fresh-clone runs after it at the same machine speed (docs/testing.md). A worker with one
    test to go still gets its next scope at once, or it would hold that test back: xdist's
    worker runs a test only once it knows the one after it.
    """
    from xdist.scheduler import LoadScopeScheduling

    class SerialGroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

        def _reschedule(self, node: Any) -> None:
            work = self.assigned_work[node]
            in_group = any(
                scope in SERIAL_GROUPS.values() and not all(done.values())
                for scope, done in work.items()
            )
            if in_group and self.workqueue and self._pending_of(work) > 1:
                return
            super()._reschedule(node)

    return SerialGroupScheduling


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under ``-m solo`` alone (make test's second pytest), leave every other test module
    uncollected: each of its processes would import and collect the whole suite only to
    deselect all but SOLO_MODULES, about 4 CPU-seconds each on 2 cores. Any other run
    collects everything, and the marks decide."""
    if config.getoption("markexpr", "") != "solo" or collection_path.suffix != ".py":
        return None
    if not collection_path.name.startswith("test_"):
        return None  # conftest.py and helper modules
    relative = collection_path.relative_to(config.rootpath).as_posix()
    return True if relative not in SOLO_MODULES else None


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark the test's tier (see REAL_PARTS), and the solo modules, as it is collected."""
    if item.nodeid.startswith(SOLO_MODULES):
        item.add_marker(pytest.mark.solo)
    real = (
        item.get_closest_marker("real") is not None  # e.g. set on a parameter
        or item.nodeid.startswith(REAL_PLACES)
        or not REAL_PARTS.isdisjoint(item.fixturenames)
    )
    if not real:
        item.add_marker(pytest.mark.check)
    elif item.get_closest_marker("real") is None:
        item.add_marker(pytest.mark.real)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, hand out the serial groups first, then the long modules in their order."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # The serial groups are the longest stretches of the run: handed out first, they
        # start at once beside everything else instead of ending the run on their own.
        # (Every worker collects, so the order must be, and is, the same everywhere.)
        items.sort(key=_hand_out_rank)


def _hand_out_rank(item: pytest.Item) -> int:
    """0 for the serial groups, then each long module by its place in LONG_MODULES, then the
    solo modules in their order, then the rest (a stable sort keeps their collected order)."""
    if item.nodeid.startswith(tuple(SERIAL_GROUPS)):
        return 0
    for rank, module in enumerate((*LONG_MODULES, *SOLO_MODULES), start=1):
        if item.nodeid.startswith(module):
            return rank
    return len(LONG_MODULES) + len(SOLO_MODULES) + 1
