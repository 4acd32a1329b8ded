"""`run` reports every applied change to its progress view and ends with a summary or JSON."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from rich.console import Console

from cli.progress import run_with_view
from flows.registry import get
from tests.cli.conftest import POLICY, ROOT

pytestmark = pytest.mark.slow

EXAMPLE = str(ROOT / "examples" / "onboard-team.yaml")


def test_the_view_counts_every_change_the_apply_makes(arize, cli_policy):
    runbook = get("onboard-team")
    spec = runbook.example()

    terminal = Console(file=io.StringIO(), force_terminal=True, width=120)

    async def main():
        return await run_with_view(
            runbook.flow, spec, dry_run=False, policy=POLICY, show=True, ui_url=None,
            console=terminal,
        )

    result = asyncio.run(main())

    assert result.error is None
    assert result.outcome.planned > 0
    assert result.view.total == result.outcome.planned
    assert result.view.done == result.outcome.applied + result.outcome.already
    assert result.view.failures == []
    assert result.view.phases[:2] == ["planning (read-only)", "applying"]
    assert result.view.phases[-1] == "verifying and reporting"
    drawn = terminal.file.getvalue()
    assert f"{result.outcome.planned}/{result.outcome.planned}" in drawn  # the bar's last frame


def test_json_output_is_the_outcome_with_the_run_link(cli, arize, cli_policy, prefect_harness):
    result = cli("run", "onboard-team", EXAMPLE, "--policy", POLICY, "--output", "json")

    assert result.code == 0, result.err
    outcome = json.loads(result.out)
    assert outcome["status"] == "completed"
    assert outcome["applied"] == outcome["planned"] > 0
    assert outcome["url"].endswith(f"/runs/flow-run/{outcome['flow_run_id']}")
    assert outcome["url"].startswith(prefect_harness.removesuffix("/api"))


def test_text_output_is_a_summary_with_the_run_link(cli, arize, cli_policy):
    result = cli("run", "onboard-team", EXAMPLE, "--policy", POLICY, "--dry-run")

    assert result.code == 0, result.err
    assert "dry run: onboard-team · Acme/fraud-ops" in result.text
    assert "0 applied" in result.text
    assert "flow run: http://" in result.text


def test_a_dry_run_prints_its_plan_with_a_legend_of_the_markers(cli, arize, cli_policy):
    import yaml

    result = cli("run", "onboard-team", EXAMPLE, "--policy", POLICY, "--dry-run")

    assert result.code == 0, result.err
    members = yaml.safe_load((ROOT / "examples" / "onboard-team.yaml").read_text())["members"]
    lines = [line.strip() for line in result.out.splitlines()]
    for member in members:
        # Each member's space role: a change to make, with the stage it runs in.
        assert any(
            line.startswith("+ [") and f"set space role {member['email']}" in line
            for line in lines
        ), result.out
    # What the seeded account already has is shown too, marked as in place.
    assert any(line.startswith("= ") for line in lines), result.out
    legend = next(line for line in result.out.splitlines() if line.startswith("legend:"))
    for marker in ("+ a change", "! a destructive change", "= already in place", "[n] the stage"):
        assert marker in legend
