"""``demo --keep`` leaves the stack up until Ctrl-C; the demo's last lines say what it removed.

The stack is a stand-in here (the demo's real stack and runs are exercised by the README and
runbook tests): this checks only the order of things around it, in-process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import cli.demo as demo_module


class FakeStack:
    """Records when it was started and stopped; has the addresses the demo prints."""

    events: list[str] = []

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.arize = self.slack = type("S", (), {"base_url": "http://127.0.0.1:1"})()
        self.prefect = type("P", (), {"ui_url": "http://127.0.0.1:2"})()
        self.prefect_auth_note = "no auth"
        self.webhooks = None

    def __enter__(self) -> FakeStack:
        self.events.append("up")
        (self.workdir / "access-review").mkdir()
        (self.workdir / "access-review" / "review.csv").write_text("grant,decision\n")
        return self

    def __exit__(self, *exc: object) -> None:
        self.events.append("down")


@pytest.fixture
def fake_demo(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    FakeStack.events = []
    monkeypatch.setattr(demo_module, "LocalStack", FakeStack)

    def runs(stack: Any, interactive: bool) -> list[dict[str, Any]]:
        FakeStack.events.append("ran")
        return [{"runbook": "onboard-team", "status": "completed", "planned": 1, "applied": 1,
                 "approval": "-"}]

    monkeypatch.setattr(demo_module, "_run_with_prefect", runs)
    return FakeStack.events


def test_keep_leaves_the_stack_up_until_ctrl_c(cli, fake_demo, monkeypatch):
    seen_at_ctrl_c: list[str] = []

    def ctrl_c() -> None:
        seen_at_ctrl_c.extend(fake_demo)
        raise KeyboardInterrupt

    monkeypatch.setattr(demo_module, "_sleep_a_while", ctrl_c)

    result = cli("demo", "--keep")

    assert result.code == 0, result.err
    # Waiting for Ctrl-C after the runs, with everything still up.
    assert seen_at_ctrl_c == ["up", "ran"]
    assert fake_demo == ["up", "ran", "down"]
    assert "Press Ctrl-C to stop" in result.out


def test_the_last_lines_say_what_was_removed(cli, fake_demo, monkeypatch, tmp_path):
    made: list[Path] = []
    original = FakeStack.__init__

    def remember(self: FakeStack, workdir: Path) -> None:
        made.append(workdir)
        original(self, workdir)

    monkeypatch.setattr(FakeStack, "__init__", remember)

    result = cli("demo")

    assert result.code == 0, result.err
    assert fake_demo == ["up", "ran", "down"]
    assert not made[0].exists()  # the review CSVs went with it
    last = [line for line in result.out.splitlines() if line.strip()][-3:]
    text = " ".join(last)
    assert last[0].startswith("stopped:") and "Prefect UI" in text and "run links" in text
    assert last[1].startswith(f"deleted: {made[0]}") and "review CSVs" in text
    assert "demo --keep" in last[2]
