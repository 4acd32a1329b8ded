"""The crash-recovery automations: created once however often setup runs, with bad settings
refused by name, and a run's state history read correctly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prefect import get_client
from prefect.client.schemas.objects import State, StateType
from typer.testing import CliRunner

from cli.main import app as cli
from ops.crash_recovery import (
    HEARTBEAT_AUTOMATION,
    RESCHEDULE_AUTOMATION,
    crash_recovery_automations,
    ensure_crash_recovery,
)
from tasks.reporting.crash_history import crash_resumptions


async def test_setup_twice_keeps_one_automation_of_each_and_applies_new_settings(
    prefect_harness,
):
    first = await ensure_crash_recovery(heartbeat_frequency=30, missed_heartbeats=3)
    second = await ensure_crash_recovery(heartbeat_frequency=60, missed_heartbeats=2)
    assert first == second
    async with get_client() as client:
        (heartbeat,) = await client.read_automations_by_name(HEARTBEAT_AUTOMATION)
        (reschedule,) = await client.read_automations_by_name(RESCHEDULE_AUTOMATION)
    assert heartbeat.trigger.within == timedelta(seconds=120)
    assert reschedule.actions[0].state is StateType.SCHEDULED
    assert reschedule.trigger.match.root["prefect.run-count"] == ["0", "1", "2", "3"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"heartbeat_frequency": 10}, "heartbeat_frequency=10"),
        ({"missed_heartbeats": 1}, "missed_heartbeats=1"),
        ({"max_attempts": 0}, "max_attempts=0"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        crash_recovery_automations(**kwargs)


def test_ha_up_refuses_a_window_of_one_heartbeat_naming_the_option():
    result = CliRunner().invoke(cli, ["ha", "up", "--missed-heartbeats", "1"])
    assert result.exit_code == 2
    words = " ".join(w for w in result.output.split() if w != "│")
    wanted = "Invalid value for '--missed-heartbeats': Input should be greater than or equal to 2"
    assert wanted in words, result.output


def _state(kind: StateType, at: int, message: str = "") -> State:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return State(type=kind, timestamp=start + timedelta(seconds=at), message=message)


def test_history_with_a_crash_then_a_reschedule_is_one_resumption():
    history = [
        _state(StateType.SCHEDULED, 0),
        _state(StateType.RUNNING, 2),
        _state(StateType.CRASHED, 90, "No heartbeat"),
        _state(StateType.SCHEDULED, 91),
        _state(StateType.RUNNING, 95),
        _state(StateType.COMPLETED, 120),
    ]
    (resumption,) = crash_resumptions(list(reversed(history)))
    assert resumption.crash_message == "No heartbeat"
    assert resumption.rescheduled_at - resumption.crashed_at == timedelta(seconds=1)


def test_history_without_a_crash_or_without_a_reschedule_has_none():
    plain = [_state(StateType.SCHEDULED, 0), _state(StateType.RUNNING, 1),
             _state(StateType.COMPLETED, 5)]
    crashed_for_good = [*plain[:2], _state(StateType.CRASHED, 90)]
    assert crash_resumptions(plain) == []
    assert crash_resumptions(crashed_for_good) == []
