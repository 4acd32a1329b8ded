"""The waiting gate's state message: only the states proposed inside the block carry it, and
concurrent gates in one process never see each other's. No I/O (the real Prefect round trip is
in test_votes.py and test_two_person_rule.py)."""

from __future__ import annotations

import asyncio

import prefect.flow_runs

from tasks.approvals.wait_message import waiting_with_message


def test_paused_and_suspended_states_carry_the_message_only_inside_the_block() -> None:
    with waiting_with_message("Waiting for approval until …"):
        paused = prefect.flow_runs.Paused(timeout_seconds=10, pause_key="g")
        suspended = prefect.flow_runs.Suspended(timeout_seconds=10, pause_key="g-r1")
        explicit = prefect.flow_runs.Paused(pause_key="h", message="their own")
    after = prefect.flow_runs.Paused(timeout_seconds=10, pause_key="g-r2")

    assert paused.message == suspended.message == "Waiting for approval until …"
    assert paused.is_paused() and suspended.name == "Suspended"
    assert suspended.state_details.pause_key == "g-r1"
    assert explicit.message == "their own"
    assert after.message is None


async def test_concurrent_gates_keep_their_own_message() -> None:
    both = asyncio.Event()
    seen: dict[str, str | None] = {}

    async def gate(name: str) -> None:
        with waiting_with_message(f"gate {name}"):
            if len(seen) == 0:
                seen["first-entered"] = name
                await both.wait()  # the other gate sets its message meanwhile
            else:
                both.set()
            seen[name] = prefect.flow_runs.Paused(pause_key=name).message

    await asyncio.gather(gate("a"), gate("b"))
    assert seen["a"] == "gate a" and seen["b"] == "gate b"
