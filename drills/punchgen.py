"""A punch generator for drills and benchmarks: real punches through ``record_punch`` at a given rate.

It writes into the device database exactly as the kiosk loop does (punch + outbox row in one
transaction, synchronous=FULL), so a drill exercises the courier against a live writer. It counts the
punches already in the database and stops at ``--count``: killed and started again, it carries on.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from core.signals import stop_on_signals
from device.store import Store, open_store
from device.store.punches import NewPunch, record_punch

EMPLOYEES = 200


def make_punch(n: int, at_ms: int) -> NewPunch:
    """The n-th synthetic punch: employees in turn, directions alternating per employee."""
    moment = datetime.fromtimestamp(at_ms / 1000, UTC)
    return NewPunch(
        employee_no=f"E{n % EMPLOYEES:04d}",
        direction="in" if (n // EMPLOYEES) % 2 == 0 else "out",
        work_day=moment.date().isoformat(),
        device_time=moment.isoformat(),
        device_time_ms=at_ms,
        monotonic_ns=time.monotonic_ns(),
        clock_synced=True,
        source="face",
        match_score=0.91,
        liveness_score=0.98,
        models={"generator": "punchgen"},
    )


def punch_count(store: Store) -> int:
    return int(store.conn.execute("SELECT count(*) FROM punches").fetchone()[0])


def prefill(store: Store, device_id: str, count: int, chunk: int = 5000) -> int:
    """Write ``count`` punches quickly (chunks in one transaction each): a backlog for benchmarks."""
    start = punch_count(store)
    base_ms = int(time.time() * 1000)
    for first in range(start, start + count, chunk):
        with store.transaction():
            for n in range(first, min(first + chunk, start + count)):
                record_punch(store, make_punch(n, base_ms + n), device_id)
    return punch_count(store)


def generate(store: Store, device_id: str, count: int, rate: float, stop: threading.Event) -> int:
    """Write punches one transaction each at ``rate`` per second until the database holds ``count``."""
    interval = 1.0 / rate
    n = punch_count(store)
    next_at = time.monotonic()
    while n < count and not stop.is_set():
        record_punch(store, make_punch(n, int(time.time() * 1000)), device_id)
        n += 1
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)
    return n


def main(argv: list[str] | None = None) -> int:
    """``python -m drills.punchgen --database FILE --device-id ID --count N --rate R``."""
    parser = argparse.ArgumentParser(prog="python -m drills.punchgen", description=main.__doc__)
    parser.add_argument("--database", type=Path, required=True, help="the device database")
    parser.add_argument("--device-id", required=True)
    parser.add_argument("--count", type=int, required=True, help="stop when the database holds this many punches")
    parser.add_argument("--rate", type=float, default=50.0, help="punches per second")
    args = parser.parse_args(argv)
    store = open_store(args.database)
    try:
        with stop_on_signals(threading.Event()) as stop:
            written = generate(store, args.device_id, args.count, args.rate, stop)
    finally:
        store.close()
    print(f"punchgen: database holds {written} punches", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
