"""``/metrics``'s figures without a server: the inbox's gauges as a scrape makes them, and the
counters of several worker processes added up (Prometheus's multiprocess mode)."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from tests.webhooks.conftest import samples
from webhooks.inbox_records import InboxStats
from webhooks.metrics import MULTIPROCESS_DIR, Metrics

STATS = InboxStats(
    by_source_status={"okta": {"pending": 2, "dead": 1}},
    pending=2, claimed=1, forwarded=0, dead=1, forward_attempts=3,
    oldest_pending_age_seconds=4.5,
)  # fmt: skip


def test_inbox_gauges_are_the_last_answer_and_up_says_whether_the_inbox_answered() -> None:
    metrics = Metrics()
    assert samples(metrics.render().decode())[("arize_webhook_inbox_up", ())] == 0  # never answered

    metrics.set_inbox(STATS)
    answered = samples(metrics.render().decode())
    metrics.set_inbox(None)
    down = samples(metrics.render().decode())

    assert answered[("arize_webhook_inbox_up", ())] == 1
    assert answered[("arize_webhook_inbox_depth", ())] == 2
    assert answered[("arize_webhook_inbox_claimed", ())] == 1
    assert answered[("arize_webhook_dead_letters", ())] == 1
    assert answered[("arize_webhook_oldest_pending_seconds", ())] == 4.5
    assert answered[("arize_webhook_inbox_events", (("source", "okta"), ("status", "dead")))] == 1
    # The database away: the last figures stay, and up says they are not fresh.
    assert down == answered | {("arize_webhook_inbox_up", ()): 0}


def _count_deliveries(count: int) -> None:
    """One worker: a new process whose prometheus-client writes to the directory."""
    assert os.environ[MULTIPROCESS_DIR]
    metrics = Metrics()
    for _ in range(count):
        metrics.delivered("okta", 202, 0.01)
    metrics.forwarded("forwarded")


@pytest.mark.real  # starts processes
def test_a_scrape_adds_up_the_counters_of_every_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Spawned, as uvicorn spawns its workers, with the variable `serve` sets: prometheus-client
    # reads it when a worker imports it. (This process imported it long ago, without it.)
    monkeypatch.setenv(MULTIPROCESS_DIR, str(tmp_path))
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_count_deliveries, args=(n,)) for n in (3, 4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0

    scrape = Metrics(multiprocess_dir=str(tmp_path))
    scrape.set_inbox(STATS)
    scraped = samples(scrape.render().decode())

    okta_202 = (("source", "okta"), ("status", "202"))
    assert scraped[("arize_webhook_deliveries_total", okta_202)] == 7
    assert scraped[("arize_webhook_ack_seconds_count", (("source", "okta"),))] == 7
    assert scraped[("arize_webhook_forward_attempts_total", (("outcome", "forwarded"),))] == 2
    assert scraped[("arize_webhook_inbox_depth", ())] == 2  # once, not once a worker
