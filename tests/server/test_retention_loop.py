"""The retention job's loop (as ``edgehr server run`` starts it): a round erases what is past the policy and
records its counts; the thread stops with its event; a database outage skips a round without dying."""

from __future__ import annotations

import threading
from pathlib import Path

from sync.server.retention_loop import RetentionLoop
from sync.server.store import open_hr_store, retention
from tests.server.builders import BASE_MS, register
from tests.server.conftest import NOW
from tests.server.review_builders import ingest_sessions, session_body


def test_the_loop_erases_expired_sessions_records_counts_and_stops(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hr.db'}"
    store = open_hr_store(url, "Asia/Shanghai", clock=lambda: NOW)
    register(store, "booth-1")
    ingest_sessions(store, "booth-1", [session_body("S-old", "C-1", completed_ms=BASE_MS - 400 * 86_400_000),
                                       session_body("S-new", "C-2")])  # fmt: skip
    stop = threading.Event()
    loop = RetentionLoop(lambda: open_hr_store(url, "Asia/Shanghai", clock=lambda: NOW), stop, interval_seconds=0.05)
    thread = loop.start_thread()
    try:
        for _ in range(200):
            if retention.runs(store):
                break
            stop.wait(0.02)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive() and loop.rounds >= 1
    first = retention.runs(store)[-1]
    assert (first["sessions"], first["answers"], first["scores"], first["started_by"]) == (1, 3, 3, "retention-job")
    store.close()


def test_a_database_outage_skips_a_round(tmp_path: Path) -> None:
    store = open_hr_store(f"sqlite:///{tmp_path / 'hr.db'}", "Asia/Shanghai", clock=lambda: NOW)
    store.close()  # every statement now fails like an unavailable database
    loop = RetentionLoop(lambda: store, threading.Event())
    assert loop.round(store) == {} and loop.store_errors == 1
