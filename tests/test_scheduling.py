"""How `make test` hands tests out to xdist workers (tests/conftest.py): a serial group runs on
one worker without a module queued behind it until its last test. Driven through xdist's own
scheduler with recorded workers: no process starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.conftest import LONG_MODULES, SOLO_MODULES, serial_group_scheduling

KILL_MOMENTS = [f"tests/ha/test_kill_moments.py::test_{n}" for n in ("pending", "beat", "gate")]
#: The other solo modules, a test each, in the order they are handed out.
MODULES = [f"{module}::test_it" for module in SOLO_MODULES if "tests/ha/" not in module]


@dataclass(eq=False)
class Worker:
    """What xdist's scheduler sees of a worker: the tests it was sent, in order."""

    name: str
    sent: list[str] = field(default_factory=list)
    shutting_down: bool = False
    collection: list[str] = field(default_factory=list)

    @property
    def gateway(self) -> SimpleNamespace:
        return SimpleNamespace(id=self.name)

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.extend(self.collection[i] for i in indices)

    def shutdown(self) -> None:
        self.shutting_down = True


class Config:
    """What xdist's LoadScopeScheduling reads of pytest's config: two workers, and
    `--no-loadscope-reorder` (as `make test` runs it)."""

    option = SimpleNamespace(loadscopereorder=False)

    def getvalue(self, name: str) -> Any:
        assert name == "tx"
        return ["2*popen"]


def scheduled(collection: list[str]) -> tuple[Any, Worker, Worker]:
    scheduler = serial_group_scheduling()(Config())
    a, b = Worker("a", collection=collection), Worker("b", collection=collection)
    for worker in (a, b):
        scheduler.add_node(worker)
        scheduler.add_node_collection(worker, collection)
    scheduler.schedule()
    return scheduler, a, b


def complete(scheduler: Any, worker: Worker, nodeid: str) -> None:
    scheduler.mark_test_complete(worker, worker.collection.index(nodeid))


def test_no_module_is_queued_behind_a_serial_group_before_its_last_test() -> None:
    scheduler, a, b = scheduled(KILL_MOMENTS + MODULES)
    assert a.sent == KILL_MOMENTS
    # xdist's own rule for the other worker: two queued at a time.
    assert b.sent == MODULES[:2]

    complete(scheduler, a, KILL_MOMENTS[0])  # two kill moments to go: nothing more for a
    assert a.sent == KILL_MOMENTS
    complete(scheduler, b, MODULES[0])
    assert b.sent == MODULES[:3]

    complete(scheduler, a, KILL_MOMENTS[1])  # the last one runs now: one module queued
    assert a.sent == [*KILL_MOMENTS, MODULES[3]]
    complete(scheduler, b, MODULES[1])
    assert b.sent == [*MODULES[:3], MODULES[4]]


def test_xdist_rule_is_unchanged_for_a_worker_without_a_serial_group() -> None:
    scheduler, a, b = scheduled(MODULES)
    assert (a.sent, b.sent) == ([MODULES[0], MODULES[2]], [MODULES[1], MODULES[3]])
    complete(scheduler, a, MODULES[0])
    assert a.sent == [MODULES[0], MODULES[2], MODULES[4]]


def test_every_module_the_hand_out_names_exists() -> None:
    # A renamed module would drop out of its place silently: a solo module would then run
    # beside three other workers, and a long one at the end of the run.
    root = Path(__file__).parents[1]
    named = (*LONG_MODULES, *SOLO_MODULES)
    assert [m for m in named if not (root / m).is_file()] == []
    assert len(set(named)) == len(named)
