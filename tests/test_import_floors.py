"""No import runs up a floor: the import-linter contracts in pyproject.toml hold.

The contracts live in ``[tool.importlinter]``; ``docs/architecture.md`` draws the floors. These
tests run the same linter as ``lint-imports`` does, so a new upward import fails the suite.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tomllib
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def _layer_names(contract: dict) -> set[str]:
    return {name.strip() for layer in contract["layers"] for name in layer.split("|")}


def test_the_project_keeps_every_import_contract():
    # import-linter sets logging up with dictConfig, which disables every logger that exists:
    # a later test of this process reading a module's log (caplog) would find it silent.
    enabled = [
        logger for logger in list(logging.root.manager.loggerDict.values())
        if isinstance(logger, logging.Logger) and not logger.disabled
    ]
    try:
        # lint_imports prints what broke (which import, which line) before it returns
        # non-zero.
        assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0
    finally:
        for logger in enabled:
            logger.disabled = False


def test_every_package_of_the_project_is_on_a_floor_or_an_island():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(CONFIG["root_packages"]), "list a new package in root_packages"
    (floors,) = [c for c in CONFIG["contracts"] if c["type"] == "layers"]
    islands = {m for c in CONFIG["contracts"] if c["type"] == "independence" for m in c["modules"]}
    assert packages - _layer_names(floors) <= islands, "put a new package on a floor"


def test_an_upward_import_breaks_the_floors(tmp_path: Path):
    # The same contracts over stand-in packages, one of which imports a floor above it: proves
    # the check can fail, without touching the real tree.
    for name in CONFIG["root_packages"]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / "blocks" / "policy.py").write_text("import tasks\n")
    project = (ROOT / "pyproject.toml").read_text()
    contracts = project[project.index("\n[tool.importlinter]\n") :]
    (tmp_path / "pyproject.toml").write_text(contracts)
    lint = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
         "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert lint.returncode == 1, lint.stdout + lint.stderr
    assert "blocks is not allowed to import tasks" in lint.stdout
    assert "blocks.policy -> tasks" in lint.stdout
